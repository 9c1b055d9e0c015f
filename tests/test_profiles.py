"""Device profiles: the built-in catalogue validates, bad files are refused with file and field,
user directories win, and runtime device names match the right profile (or none)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from subsidybench import cpuinfo
from subsidybench.catalogue import cpupeak
from subsidybench.catalogue.profiles import list_profiles, load_profile, localize, match_profile
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.provenance import Basis, Figure, PriceKind, PricePoint, PriceTerm

REQUIRED = {
    "h100-sxm",
    "h800",
    "h20",
    "a100-sxm-80gb",
    "a800",
    "l40s",
    "rtx-4090",
    "mi300x",
    "ascend-910b",
    "ascend-910c",
    "mlu370-x8",
    "mlu590",
    "hygon-k100-ai",
    "mtt-s4000",
    "kunlunxin-p800",
    "apple-m4-max",
    "intel-gaudi3",
    "cpu-generic",
}
DOMESTIC_VENDORS = ("Huawei", "Cambricon", "Hygon", "Moore Threads", "Kunlunxin", "MetaX")
DOMESTIC_VENDORS += ("Enflame", "Iluvatar CoreX", "Biren")

MINIMAL = """
name = "Test Accelerator"
vendor = "Testco"
backend = "cuda"
domestic = false
match = ['Test Accel']
memory_gb = { value = 16, basis = "vendor", source = "https://example.com/spec" }
memory_bandwidth_gbs = { value = 1000, basis = "vendor", source = "https://example.com/spec" }
interconnect_gbs = "unknown"
power_w = { basis = "unknown", note = "not published" }

[peak_tflops]
bf16 = { value = 100, basis = "vendor", source = "https://example.com/spec" }
"""


def write_profile(root: Path, name: str, text: str) -> Path:
    path = root / "devices" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def catalogue() -> dict[str, object]:
    return {p.id: p for p in list_profiles()}


def test_every_builtin_profile_validates_and_the_required_ones_exist(catalogue):
    assert set(catalogue) >= REQUIRED


def test_domestic_flag_follows_the_vendor(catalogue):
    for profile in catalogue.values():
        expected = profile.vendor.startswith(DOMESTIC_VENDORS)
        assert profile.domestic is expected, profile.id


def test_every_known_figure_has_a_source_and_unknowns_have_no_value(catalogue):
    for profile in catalogue.values():
        for field, fig in profile.figures():
            if fig.known:
                assert fig.value is not None and fig.source.strip(), (profile.id, field)
            else:
                assert fig.value is None, (profile.id, field)
        for price in profile.prices:
            assert price.source and price.basis is not Basis.UNKNOWN


def test_peaks_are_dense_and_sparsity_is_kept_apart(catalogue):
    h100 = catalogue["h100-sxm"]
    assert h100.peak(DType.BF16).value == pytest.approx(989.4)
    assert h100.sparse_tflops[DType.BF16].value == pytest.approx(1978.9)
    assert h100.peak(DType.BF16).basis is Basis.VENDOR
    # Every listed sparse peak is above the dense one (the loader enforces it; this checks data).
    for profile in catalogue.values():
        for dtype, sparse in profile.sparse_tflops.items():
            dense = profile.peak(dtype)
            assert dense is not None and sparse.value >= dense.value, (profile.id, dtype)


def test_disagreeing_published_peaks_are_listed_in_the_note(catalogue):
    fig = catalogue["ascend-910b"].peak(DType.BF16)
    assert fig.basis is Basis.ESTIMATE
    for other in ("256", "280", "320"):
        assert other in fig.note


def test_unknown_figures_stay_unknown(catalogue):
    assert catalogue["kunlunxin-p800"].peak(DType.BF16).basis is Basis.UNKNOWN
    assert str(catalogue["mlu590"].memory_gb) == "unknown"
    # A dtype the profile does not list at all is None, not unknown.
    assert catalogue["mlu590"].peak(DType.FP8) is None


def test_rent_prices_carry_date_and_basis(catalogue):
    rent = catalogue["h100-sxm"].rent_per_hour("USD")
    assert rent is not None and rent.kind is PriceKind.RENT_HOUR
    assert rent.term is PriceTerm.ON_DEMAND
    # Recorded on-demand H100 SXM rents span 2.69 (marketplace) to 6.88 (AWS) USD in 2026.
    assert 2.0 <= rent.amount <= 7.0
    assert re.match(r"\d{4}-\d\d-\d\d$", rent.date)
    assert catalogue["h100-sxm"].rent_per_hour("CNY").currency == "CNY"
    assert catalogue["intel-gaudi3"].purchase_price().amount == pytest.approx(125_000 / 8)


def test_newest_price_wins_and_currency_filters(tmp_path):
    text = MINIMAL + "".join(
        f"""
[[prices]]
kind = "{kind}"
amount = {amount}
currency = "{cur}"
date = {date}
basis = "vendor"
source = "https://example.com/prices"
"""
        for kind, amount, cur, date in (
            ("rent_hour", 2.0, "USD", "2025-01-01"),
            ("rent_hour", 3.0, "USD", "2025-06-01"),
            ("rent_hour", 15.0, "CNY", "2024-01-01"),
            ("purchase", 20000, "USD", "2024-01-01"),
        )
    )
    profile = load_profile(str(write_profile(tmp_path, "priced", text)))
    assert profile.rent_per_hour().amount == 3.0
    assert profile.rent_per_hour("cny").amount == 15.0
    assert profile.purchase_price("USD").amount == 20000
    assert profile.purchase_price("CNY") is None


BROKEN = [
    # (what to change, the field the message must name)
    ("colour = 'red'\n" + MINIMAL, "colour"),
    (MINIMAL.replace("bf16 = { value = 100", "bf17 = { value = 100"), "peak_tflops.bf17"),
    (
        MINIMAL.replace('value = 100, basis = "vendor"', 'value = "fast", basis = "vendor"'),
        "peak_tflops.bf16.value",
    ),
    (
        MINIMAL.replace('value = 100, basis = "vendor"', 'value = -1, basis = "vendor"'),
        "peak_tflops.bf16.value",
    ),
    (
        MINIMAL.replace(
            'value = 100, basis = "vendor", source = "https://example.com/spec"',
            'value = 100, basis = "vendor"',
        ),
        "peak_tflops.bf16.source",
    ),
    (
        MINIMAL.replace('value = 100, basis = "vendor"', 'value = 100, basis = "rumour"'),
        "peak_tflops.bf16.basis",
    ),
    (
        MINIMAL.replace('value = 100, basis = "vendor"', 'value = 100, basis = "unknown"'),
        "peak_tflops.bf16.value",
    ),
    (
        MINIMAL.replace(
            '1000, basis = "vendor", source = "https://example.com/spec"',
            '1000, basis = "vendor", source = "datasheet"',
        ),
        "memory_bandwidth_gbs.source",
    ),
    (MINIMAL.replace("power_w = {", "powr_w = {"), "power_w"),
    (
        MINIMAL.replace('interconnect_gbs = "unknown"', 'interconnect_gbs = "lots"'),
        "interconnect_gbs",
    ),
    (MINIMAL.replace("match = ['Test Accel']", "match = ['Test (Accel']"), "match[0]"),
    (MINIMAL.replace('backend = "cuda"', 'backend = "tpu"'), "backend"),
    (MINIMAL.replace('backend = "cuda"', 'backend = "cuda"\nmodule = "torch_npu"'), "module"),
    (MINIMAL.replace("domestic = false", "domestic = 'no'"), "domestic"),
    (
        MINIMAL + "[sparse_tflops]\nbf16 = { value = 50, basis = 'vendor', source = 'x y' }\n",
        "sparse_tflops.bf16",
    ),
    (
        MINIMAL + "[efficiency]\ncompute = { value = 3, basis = 'derived', source = 'x y' }\n",
        "efficiency.compute.value",
    ),
    (
        MINIMAL + "[efficiency]\nmemory = { value = 0.5, basis = 'derived', source = 'x y' }\n",
        "efficiency.memory",
    ),
    (
        MINIMAL + "[[prices]]\nkind='rent_hour'\namount=2\ncurrency='dollars'\ndate=2025-01-01\n"
        "basis='vendor'\nsource='x y'\n",
        "prices[0].currency",
    ),
    (
        MINIMAL + "[[prices]]\nkind='rent_hour'\namount=2\ncurrency='USD'\ndate='last week'\n"
        "basis='vendor'\nsource='x y'\n",
        "prices[0].date",
    ),
    (
        MINIMAL + "[[prices]]\nkind='lease'\namount=2\ncurrency='USD'\ndate=2025-01-01\n"
        "basis='vendor'\nsource='x y'\n",
        "prices[0].kind",
    ),
    (
        MINIMAL + "[cpu]\nfma_units_per_core = 'unknown'\nclock_ghz = 'unknown'\n"
        "amx_flops_per_cycle = 'unknown'\n",
        "cpu",
    ),
    (MINIMAL.replace("name = ", "nom = "), "name"),
    ("name = \n", ""),  # not TOML at all
]


@pytest.mark.parametrize(("text", "field"), BROKEN, ids=[f or "syntax" for _, f in BROKEN])
def test_a_broken_profile_names_file_and_field(tmp_path, text, field):
    path = write_profile(tmp_path, "broken", text)
    with pytest.raises(UserError) as err:
        load_profile(str(path))
    message = str(err.value)
    assert message.startswith(str(path)), message
    assert field in message, message
    assert "\n" not in message


def test_minimal_profile_loads(tmp_path):
    profile = load_profile(str(write_profile(tmp_path, "mini", MINIMAL)))
    assert profile.id == "mini"
    assert profile.peak(DType.BF16) == Figure(100.0, Basis.VENDOR, "https://example.com/spec")
    assert str(profile.interconnect_gbs) == "unknown"
    assert profile.power_w.note == "not published"


def test_source_names_resolve_to_their_citation(tmp_path):
    text = (
        MINIMAL.replace(
            'bf16 = { value = 100, basis = "vendor", source = "https://example.com/spec" }',
            'bf16 = { value = 100, basis = "vendor", source = "sheet" }',
        )
        + '\n[sources]\nsheet = "Testco datasheet, https://example.com/sheet"\n'
    )
    profile = load_profile(str(write_profile(tmp_path, "refs", text)))
    assert profile.peak(DType.BF16).source == "Testco datasheet, https://example.com/sheet"


def test_user_directory_wins_over_builtin(tmp_path):
    write_profile(tmp_path, "h100-sxm", MINIMAL.replace("Test Accelerator", "My H100"))
    assert load_profile("h100-sxm", [tmp_path]).name == "My H100"
    assert load_profile("h100-sxm").name != "My H100"
    ids = [p.id for p in list_profiles([tmp_path])]
    assert ids.count("h100-sxm") == 1
    assert next(p for p in list_profiles([tmp_path]) if p.id == "h100-sxm").name == "My H100"


def test_environment_variable_directory_is_searched(tmp_path, monkeypatch):
    write_profile(tmp_path, "envdev", MINIMAL)
    monkeypatch.setenv("SUBSIDYBENCH_PROFILES", str(tmp_path))
    assert load_profile("envdev").name == "Test Accelerator"


@pytest.mark.parametrize(
    ("device_name", "backend", "expected"),
    [
        ("NVIDIA H100 80GB HBM3", "cuda", "h100-sxm"),
        ("NVIDIA H100 PCIe", "cuda", None),
        ("NVIDIA H100 NVL", "cuda", None),
        ("NVIDIA H800", "cuda", "h800"),
        ("NVIDIA H800 PCIe", "cuda", None),
        ("NVIDIA H20", "cuda", "h20"),
        ("NVIDIA H200", "cuda", "h200"),
        ("NVIDIA H200 NVL", "cuda", None),
        ("NVIDIA GB200", "cuda", "gb200"),
        ("NVIDIA B200", "cuda", "b200"),
        ("NVIDIA A100-SXM4-80GB", "cuda", "a100-sxm-80gb"),
        ("NVIDIA A100-SXM4-40GB", "cuda", "a100-sxm-40gb"),
        ("NVIDIA A100-PCIE-40GB", "cuda", "a100-pcie-40gb"),
        ("NVIDIA A100 80GB PCIe", "cuda", None),
        ("NVIDIA A800-SXM4-80GB", "cuda", "a800"),
        ("NVIDIA L40S", "cuda", "l40s"),
        ("NVIDIA GeForce RTX 4090", "cuda", "rtx-4090"),
        ("NVIDIA GeForce RTX 4090 D", "cuda", None),
        ("AMD Instinct MI300X", "cuda", "mi300x"),
        ("K100_AI", "cuda", "hygon-k100-ai"),
        ("Ascend910B2C", "npu", "ascend-910b"),
        ("Ascend910B3", "npu", "ascend-910b"),
        ("Ascend910_9392", "npu", "ascend-910c-die"),
        ("MTT S4000", "musa", "mtt-s4000"),
        ("MetaX C500", "cuda", "metax-c500"),
        ("MLU590", "mlu", "mlu590"),
        ("GAUDI3", "hpu", "intel-gaudi3"),
        ("Apple M4 Max", "mps", "apple-m4-max"),
        ("NVIDIA H100 80GB HBM3", "npu", None),  # right name, wrong backend
        ("Some Unknown Accelerator 9000", "cuda", None),
    ],
)
def test_match_profile(device_name, backend, expected):
    found = match_profile(device_name, backend)
    assert (found.id if found else None) == expected


def test_cpu_matches_the_generic_profile_with_machine_derived_peaks(monkeypatch, tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("model name : Test CPU\nflags : fpu avx2 fma\ncpu MHz : 3000.000\n")
    monkeypatch.setattr(cpuinfo, "CPUINFO", info)
    monkeypatch.setattr(cpupeak, "CPUFREQ", tmp_path / "no-sysfs")
    monkeypatch.setattr(cpupeak, "available_cpus", lambda: (4, "test"))
    found = match_profile("Test CPU", "cpu")
    assert found is not None and found.id == "cpu-generic"
    fp32 = found.peak(DType.FP32)
    # 4 cores x 8 lanes x 2 (FMA) x 2 units x 3.0 GHz = 384 GFLOP/s
    assert fp32.basis is Basis.DERIVED
    assert fp32.value == pytest.approx(0.384)
    assert load_profile("cpu-generic").peak(DType.FP32).basis is Basis.UNKNOWN


def test_localize_leaves_the_profile_alone_where_the_machine_cannot_be_read(monkeypatch, tmp_path):
    monkeypatch.setattr(cpuinfo, "CPUINFO", tmp_path / "absent")
    profile = load_profile("cpu-generic")
    assert localize(profile) == profile
    h100 = load_profile("h100-sxm")
    assert localize(h100) is h100


def test_user_profile_preferred_and_equal_matches_refused(tmp_path):
    write_profile(tmp_path, "my-h100", MINIMAL.replace("['Test Accel']", "['H100']"))
    found = match_profile("NVIDIA H100 80GB HBM3", "cuda", [tmp_path])
    assert found is not None and found.id == "my-h100"
    write_profile(tmp_path, "my-h100-twin", MINIMAL.replace("['Test Accel']", "['H100']"))
    with pytest.raises(UserError, match="my-h100, my-h100-twin"):
        match_profile("NVIDIA H100 80GB HBM3", "cuda", [tmp_path])


def test_figure_and_price_records_check_themselves():
    with pytest.raises(ValueError):
        Figure(None, Basis.VENDOR, "x")
    with pytest.raises(ValueError):
        Figure(1.0, Basis.UNKNOWN, "")
    with pytest.raises(ValueError):
        Figure(1.0, Basis.MEASURED, " ")
    assert str(Figure.unknown()) == "unknown"
    with pytest.raises(ValueError):
        PricePoint(PriceKind.RENT_HOUR, 2.0, "USD", "2025-13-01", Basis.VENDOR, "x")
    with pytest.raises(ValueError):
        PricePoint(PriceKind.RENT_HOUR, 2.0, "USD", "2025-01-01", Basis.UNKNOWN, "x")
    assert PricePoint("rent_hour", 2.0, "USD", "2025-01-01", Basis.VENDOR, "x").kind is (
        PriceKind.RENT_HOUR
    )


def test_profile_mappings_are_read_only(catalogue):
    with pytest.raises(TypeError):
        catalogue["h100-sxm"].peak_tflops[DType.BF16] = Figure.unknown()


# ---------------------------------------------------------------------------------------------
# The CLI: `subsidybench profiles list|show|validate`


def cli(*args: str):
    from typer.testing import CliRunner

    from subsidybench.cli import app

    return CliRunner().invoke(app, list(args))


def test_cli_list_shows_every_profile_with_peaks_and_rent():
    result = cli("profiles", "list")
    assert result.exit_code == 0, result.output
    for profile_id in REQUIRED:
        assert profile_id in result.output
    assert "989.4 V" in result.output  # dense bf16, vendor basis
    assert "1978.9" not in result.output  # the sparse figure is not shown as a peak
    assert "3.99 USD/h" in result.output
    assert "unknown" in result.output
    assert "V vendor claim" in result.output


def test_cli_list_includes_user_profiles(tmp_path):
    write_profile(tmp_path, "my-accel", MINIMAL)
    result = cli("profiles", "list", "--profiles-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "my-accel" in result.output and "Test Accelerator" in result.output


def test_cli_show_prints_every_figure_with_basis_and_source():
    result = cli("profiles", "show", "h100-sxm")
    assert result.exit_code == 0, result.output
    for text in (
        "NVIDIA H100 SXM5 80GB",
        "peak_tflops.bf16",
        "sparse_tflops.bf16",
        "measured_matmul_tflops.bf16",
        "memory_bandwidth_gbs",
        "efficiency.compute",
        "vendor",
        "measured",
        "whitepaper",
        "rent_hour",
        "2026-05-01",
    ):
        assert text in result.output, text


def test_cli_show_cpu_profile_derives_on_this_machine(monkeypatch, tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("model name : Test CPU\nflags : fpu avx2 fma\ncpu MHz : 3000.000\n")
    monkeypatch.setattr(cpuinfo, "CPUINFO", info)
    monkeypatch.setattr(cpupeak, "CPUFREQ", tmp_path / "no-sysfs")
    monkeypatch.setattr(cpupeak, "available_cpus", lambda: (4, "test"))
    result = cli("profiles", "show", "cpu-generic")
    assert result.exit_code == 0, result.output
    assert "Derived on this machine (Test CPU)" in result.output
    assert "0.384" in result.output
    assert "cpu.fma_units_per_core" in result.output


def test_cli_show_unknown_name_is_a_one_line_error():
    result = cli("profiles", "show", "no-such-device")
    assert result.exit_code == 1
    assert "no devices entry named 'no-such-device'" in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_cli_validate_catalogue_and_paths(tmp_path):
    result = cli("profiles", "validate")
    assert result.exit_code == 0, result.output + result.stderr
    assert f"{len(list_profiles())} devices" in result.output and "OK: " in result.output
    assert "subsidies" in result.output and "fx" in result.output  # every kind is read

    good = write_profile(tmp_path, "good", MINIMAL)
    result = cli("profiles", "validate", str(good))
    assert result.exit_code == 0 and "OK: 1 devices file valid" in result.output

    bad = write_profile(tmp_path, "bad", MINIMAL.replace('value = 100, basis = "vendor"', "x = 1"))
    result = cli("profiles", "validate", str(tmp_path))  # a catalogue root with devices/
    assert result.exit_code == 1
    assert f"{bad}: peak_tflops.bf16" in result.stderr
    assert "1 of 2 catalogue files invalid" in result.stderr

    result = cli("profiles", "validate", str(tmp_path / "devices"))  # the folder itself
    assert result.exit_code == 1 and "1 of 2 catalogue files invalid" in result.stderr

    result = cli("profiles", "validate", "--profiles-dir", str(tmp_path))  # whole catalogue
    assert result.exit_code == 1 and f"{bad}: peak_tflops.bf16" in result.stderr

    result = cli("profiles", "validate", str(tmp_path / "absent.toml"))
    assert result.exit_code == 1 and "no such file or directory" in result.stderr


def test_cli_profiles_group_has_help():
    result = cli("profiles")
    assert result.exit_code == 0
    for command in ("list", "show", "validate"):
        assert command in result.output


def test_profile_modules_do_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys; import subsidybench.catalogue.profiles, subsidybench.catalogue.cpupeak,"
        " subsidybench.cost.estimate,"
        " subsidybench.cli.profiles; assert 'torch' not in sys.modules, 'torch imported'"
    )
    src = Path(__file__).resolve().parents[1] / "src"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
