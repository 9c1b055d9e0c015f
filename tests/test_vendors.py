"""Vendor adapters, driven through stand-ins: none of this hardware is on CI machines."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from types import SimpleNamespace
from typing import ClassVar

import pytest
import torch

from subsidybench import devices
from subsidybench.devices import BACKENDS, PluginBackend, Support, auto_device
from subsidybench.devices import vendors as devices_vendors
from subsidybench.devices.vendors import (
    AppleMpsBackend,
    AscendBackend,
    BirenBackend,
    CambriconBackend,
    EnflameBackend,
    GaudiBackend,
    IntelXpuBackend,
    MooreThreadsBackend,
)
from subsidybench.dtypes import DType
from subsidybench.errors import UserError


def test_every_vendor_is_registered_under_its_torch_device_type() -> None:
    expected = {"npu": AscendBackend, "mlu": CambriconBackend, "musa": MooreThreadsBackend}
    expected |= {"hpu": GaudiBackend, "xpu": IntelXpuBackend, "mps": AppleMpsBackend}
    for device_type, cls in expected.items():
        assert BACKENDS[device_type] is cls
    assert AscendBackend.module == "torch_npu" and CambriconBackend.module == "torch_mlu"


def with_module(backend: PluginBackend, module: object) -> PluginBackend:
    backend._module = lambda: module  # type: ignore[method-assign]
    return backend


@pytest.mark.parametrize("cls", [AscendBackend, CambriconBackend, MooreThreadsBackend])
def test_bf16_support_is_asked_of_the_backend(cls: type[PluginBackend]) -> None:
    yes = with_module(cls(), SimpleNamespace(is_bf16_supported=lambda: True))
    no = with_module(cls(), SimpleNamespace(is_bf16_supported=lambda: False))
    silent = with_module(cls(), SimpleNamespace())
    assert yes.dtype_support(0, DType.BF16).support is Support.NATIVE
    assert no.dtype_support(0, DType.BF16).support is Support.UNSUPPORTED
    assert silent.dtype_support(0, DType.BF16).support is Support.UNKNOWN
    assert yes.dtype_support(0, DType.FP16).support is Support.NATIVE
    assert yes.dtype_support(0, DType.FP8).support is Support.UNSUPPORTED


def test_ascend_refuses_tf32_and_reads_cann_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    npu = AscendBackend()
    assert npu.dtype_support(0, DType.TF32).support is Support.UNSUPPORTED
    versions = {"CANN": "8.0.RC3", "DRIVER": "24.1.rc2"}
    utils = types.ModuleType("torch_npu.npu.utils")
    utils.get_cann_version = lambda module="CANN": versions[module]  # type: ignore[attr-defined]
    for name in ("torch_npu", "torch_npu.npu"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "torch_npu.npu.utils", utils)
    assert npu.version() == "CANN 8.0.RC3"
    assert npu.driver() == "24.1.rc2"


def test_ascend_without_cann_reports_no_version() -> None:
    assert AscendBackend().version() is None


def test_gaudi_sync_marks_the_step_before_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    core = types.ModuleType("habana_frameworks.torch.core")
    core.mark_step = lambda: calls.append("mark_step")  # type: ignore[attr-defined]
    for name in ("habana_frameworks", "habana_frameworks.torch"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "habana_frameworks.torch.core", core)
    monkeypatch.setattr(torch.accelerator, "synchronize", lambda d=None: calls.append(f"sync {d}"))
    sync = GaudiBackend().synchronizer(1)
    assert sync is not None
    sync()
    assert calls == ["mark_step", "sync hpu:1"]


def test_missing_vendor_package_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="device 'npu' needs the torch_npu package"):
        devices.resolve_device("npu")
    assert not GaudiBackend().is_installed()  # parent package missing: False, not a crash


class FakeNpu(PluginBackend):
    """An installed, available vendor device: what `auto` must prefer over the cpu."""

    type = "fakenpu"
    module = "fake_npu_plugin"
    synced: ClassVar[list[int]] = []

    def is_installed(self) -> bool:
        return True

    def load(self) -> None:
        pass

    def is_available(self) -> bool:
        return True

    def device_count(self) -> int:
        return 2

    def device_name(self, index: int) -> str:
        return "Fake Ascend 910X"

    def synchronizer(self, index: int) -> Callable[[], None]:
        return lambda: self.synced.append(index)

    def dtype_support(self, index: int, dtype: DType) -> devices.DtypeSupport:
        return devices.DtypeSupport(Support.NATIVE)


@pytest.mark.skipif(torch.cuda.is_available(), reason="auto prefers cuda on this machine")
def test_auto_prefers_an_installed_vendor_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BACKENDS, "fakenpu", FakeNpu)
    dev = auto_device()
    assert dev.type == "fakenpu" and dev.index == 0 and dev.name == "Fake Ascend 910X"
    dev2 = devices.resolve_device("fakenpu:1")
    sync = dev2.synchronizer()
    assert sync is not None
    sync()
    assert FakeNpu.synced == [1]
    with pytest.raises(UserError, match="only 2 fakenpu device"):
        devices.resolve_device("fakenpu:2")


def test_entry_points_register_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "BACKENDS", dict(BACKENDS))
    entry = SimpleNamespace(name="fake", value="pkg:FakeNpu", load=lambda: FakeNpu)
    monkeypatch.setattr(devices.importlib.metadata, "entry_points", lambda group: [entry])
    assert devices.load_entry_point_backends() == ["fakenpu"]
    assert devices.BACKENDS["fakenpu"] is FakeNpu


def test_a_broken_plugin_is_skipped_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One broken entry point (an import error, not a Backend) must not block the others or
    the cpu; each is named in one warning line."""
    monkeypatch.setattr(devices, "BACKENDS", dict(BACKENDS))

    def fails() -> type:
        raise ImportError("libascendcl.so: cannot open shared object file\nmore")

    entries = [
        SimpleNamespace(name="broken", value="pkg.broken:Npu", load=fails),
        SimpleNamespace(name="bad", value="pkg:thing", load=lambda: object),
        SimpleNamespace(name="fake", value="pkg:FakeNpu", load=lambda: FakeNpu),
    ]
    monkeypatch.setattr(devices.importlib.metadata, "entry_points", lambda group: entries)
    assert devices.load_entry_point_backends() == ["fakenpu"]
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("warning: backend plugin 'broken' (pkg.broken:Npu) is skipped:")
    assert "libascendcl.so" in lines[0] and "more" in lines[0]
    assert lines[1] == "warning: backend plugin 'bad' (pkg:thing) is skipped: not a Backend class"
    assert len(lines) == 2


def test_cpu_runs_never_load_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(group: str) -> list[object]:
        raise AssertionError("entry points loaded for --device cpu")

    monkeypatch.setattr(devices.importlib.metadata, "entry_points", explode)
    devices._with_entry_points.cache_clear()
    try:
        assert devices.resolve_device("cpu").type == "cpu"
    finally:
        devices._with_entry_points.cache_clear()


def test_enflame_and_biren_are_registered_under_their_plugin_device_types() -> None:
    assert BACKENDS["gcu"] is EnflameBackend and EnflameBackend.module == "torch_gcu"
    assert BACKENDS["supa"] is BirenBackend and BirenBackend.module == "torch_supa"


@pytest.mark.parametrize("cls", [EnflameBackend, BirenBackend])
def test_enflame_and_biren_ask_the_backend_about_bf16(cls: type[PluginBackend]) -> None:
    yes = with_module(cls(), SimpleNamespace(is_bf16_supported=lambda: True))
    assert yes.dtype_support(0, DType.BF16).support is Support.NATIVE
    assert yes.dtype_support(0, DType.INT8).support is Support.UNSUPPORTED


def test_biren_loads_torch_br_where_torch_supa_is_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    """BR1xx software stacks ship the supa plugin as torch_br; either one provides the device."""
    monkeypatch.setitem(sys.modules, "torch_br", types.ModuleType("torch_br"))
    monkeypatch.setattr(
        devices_vendors.importlib.util,
        "find_spec",
        lambda name: object() if name == "torch_br" else None,
    )
    biren = BirenBackend()
    assert biren.is_installed()
    biren.load()  # imports torch_br (the stand-in), raises nothing


def test_biren_without_either_package_names_torch_supa() -> None:
    assert not BirenBackend().is_installed()
    with pytest.raises(UserError, match="device 'supa' needs the torch_supa package"):
        BirenBackend().load()
