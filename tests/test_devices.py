from __future__ import annotations

import sys
import types

import pytest
import torch

from subsidybench.devices import (
    BACKENDS,
    CpuBackend,
    PluginBackend,
    Support,
    auto_device,
    register_backend,
    resolve_device,
)
from subsidybench.dtypes import DType
from subsidybench.errors import UserError

X86_AVX2 = "processor\t: 0\nmodel name\t: Test\nflags\t\t: fpu sse avx avx2 fma\n"
X86_AMX = "flags\t\t: avx2 fma avx512f avx512_bf16 amx_bf16 amx_tile\n"
ARM = "Features\t: fp asimd evtstrm asimdhp bf16\n"


def test_cpu_dtype_support_from_flags() -> None:
    avx2 = CpuBackend(X86_AVX2, isa_cap="ALL")
    assert avx2.dtype_support(0, DType.FP32).support is Support.NATIVE
    assert avx2.dtype_support(0, DType.BF16).support is Support.EMULATED
    assert avx2.dtype_support(0, DType.FP16).support is Support.EMULATED
    assert avx2.dtype_support(0, DType.TF32).support is Support.UNSUPPORTED
    amx = CpuBackend(X86_AMX, isa_cap="ALL")
    assert amx.dtype_support(0, DType.BF16).support is Support.NATIVE
    assert "amx_bf16" in amx.dtype_support(0, DType.BF16).reason
    arm = CpuBackend(ARM, isa_cap="ALL")
    assert arm.dtype_support(0, DType.BF16).support is Support.NATIVE
    assert arm.dtype_support(0, DType.FP16).support is Support.NATIVE
    capped = CpuBackend(X86_AMX, isa_cap="avx2")
    assert capped.dtype_support(0, DType.BF16).support is Support.EMULATED
    assert "ONEDNN_MAX_CPU_ISA=AVX2" in capped.dtype_support(0, DType.BF16).reason
    assert CpuBackend(X86_AMX, isa_cap="ALL").dtype_support(0, DType.BF16).support is Support.NATIVE
    unknown = CpuBackend("")
    assert unknown.dtype_support(0, DType.BF16).support is Support.UNKNOWN


def test_resolve_cpu() -> None:
    dev = resolve_device("cpu")
    assert dev.type == "cpu" and dev.index is None
    assert str(dev.torch_device) == "cpu"
    assert dev.name
    sync = dev.synchronizer()
    assert sync is not None
    sync()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gpu", "unknown device 'gpu'"),
        ("cpu:1", "the cpu is one device"),
        ("cuda:x", "unknown device"),
    ],
)
def test_resolve_errors(spec: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        resolve_device(spec)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_missing_cuda_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="no cuda device is available"):
        resolve_device("cuda")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_auto_falls_back_to_cpu() -> None:
    assert auto_device().type == "cpu"


class FakeBackend(PluginBackend):
    """A vendor plugin whose module is a stand-in registered for the test."""

    type = "fakedev"
    module = "fake_vendor_plugin"


@pytest.fixture
def fake_backend(monkeypatch: pytest.MonkeyPatch) -> type[PluginBackend]:
    monkeypatch.setitem(BACKENDS, "fakedev", FakeBackend)
    return FakeBackend


def test_plugin_without_its_package_is_a_clear_error(fake_backend: type[PluginBackend]) -> None:
    with pytest.raises(UserError, match="needs the fake_vendor_plugin package"):
        resolve_device("fakedev")


def test_plugin_loaded_but_no_device(
    fake_backend: type[PluginBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "fake_vendor_plugin", types.ModuleType("fake_vendor_plugin"))
    # The module imports, but torch has no such accelerator: "not available", not a crash.
    with pytest.raises(UserError, match="no fakedev device is available"):
        resolve_device("fakedev:0")


def test_register_backend_replaces_by_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("subsidybench.devices.BACKENDS", dict(BACKENDS))
    from subsidybench import devices

    register_backend(FakeBackend)
    assert devices.BACKENDS["fakedev"] is FakeBackend


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA or ROCm GPU")
def test_cuda_device_syncs_and_reports() -> None:
    dev = resolve_device("cuda")
    assert dev.name
    assert dev.dtype_support(DType.FP32).support is Support.NATIVE
    x = torch.ones(1024, device=dev.torch_device)
    (x * 2).sum()
    sync = dev.synchronizer()
    assert sync is not None
    sync()
    assert dev.peak_memory() is not None


def test_last_level_cache_from_sysfs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from subsidybench.devices.cpu import _last_level_cache

    for index, size in (("index0", "48K"), ("index2", "2048K"), ("index3", "105M")):
        (tmp_path / index).mkdir()
        (tmp_path / index / "size").write_text(size + "\n")
    assert _last_level_cache(tmp_path) == 105 << 20
    assert _last_level_cache(tmp_path / "missing") is None
