"""Energy: readers (RAPL on a fake sysfs tree and the real one where present), the meter's
arithmetic over timed blocks with a fake reader, the energy verdict, the record, the cost hook."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from subsidybench.devices import CpuBackend, Device, resolve_device
from subsidybench.devices.energy import POWERCAP, EnergyReader, NoEnergy, RaplReader, rapl_reader
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.measure.energy import EnergySession, Meter, idle_setup, start_session
from subsidybench.measure.runner import run_task
from subsidybench.measure.tasks import WorkloadTask
from subsidybench.provenance import Basis
from subsidybench.report.terminal import run_header, run_table
from subsidybench.results.energy import (
    MIN_POWER_SAMPLES,
    Energy,
    EnergySetup,
    judge_energy,
    measured_energy_per_item,
    measured_power,
)
from subsidybench.results.record import RunResult, load_run, save_run
from subsidybench.timing import TimingPolicy, measure
from subsidybench.workloads.matmul import Matmul


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeReader(EnergyReader):
    """A device drawing `watts` while busy and `idle` otherwise, on a fake clock."""

    def __init__(self, clock: FakeClock, counter: bool = True, watts: float = 300.0) -> None:
        self.clock = clock
        self.has_counter = counter
        self.method = "fake counter" if counter else "fake power"
        self.watts = watts
        self.joules = 0.0
        self.last = 0.0

    def advance(self, seconds: float) -> None:
        self.joules += self.watts * seconds
        self.clock.now += seconds

    def energy_j(self) -> float:
        return self.joules

    def power_w(self) -> float | None:
        return self.watts


def _blocks(meter: Meter, reader: FakeReader, samples_per_block: int, blocks: int) -> None:
    """Run `blocks` timed blocks of 0.5 s, with power samples inside, and 0.1 s gaps at 50 W."""
    for _ in range(blocks):
        meter.block_start()
        for _ in range(samples_per_block):
            reader.advance(0.5 / samples_per_block)
            meter._samples.append((reader.clock.now, reader.power_w() or 0.0))
        meter.block_end()
        reader.watts, busy = 50.0, reader.watts
        reader.advance(0.1)  # between blocks: bookkeeping, not counted
        meter._samples.append((reader.clock.now - 0.05, 50.0))  # a sample in the gap: dropped
        reader.watts = busy


def _meter(reader: FakeReader) -> Meter:
    meter = Meter(reader, interval_s=0.05, clock=reader.clock)
    meter._thread = object()  # type: ignore[assignment]  # the test plays the sampler itself
    meter.stop = lambda: None  # type: ignore[method-assign]
    return meter


def test_counter_gives_joules_over_the_blocks_only() -> None:
    reader = FakeReader(FakeClock(), counter=True, watts=300.0)
    meter = _meter(reader)
    _blocks(meter, reader, samples_per_block=10, blocks=4)
    e = meter.finish(iterations_per_block=5, blocks_timed=4)
    # 4 blocks x 0.5 s x 300 W = 600 J; the 50 W gaps are not counted.
    assert e.joules == pytest.approx(600.0)
    assert e.covered_s == pytest.approx(2.0)
    assert e.steps == 20
    assert e.joules_per_step == pytest.approx(30.0)
    assert e.average_w == pytest.approx(300.0)
    assert e.peak_w == 300.0 and len(e.power_w) == 40  # the gap samples were dropped
    assert e.joules_per_item(1024.0) == pytest.approx(30.0 / 1024)
    assert judge_energy(e) == ()


def test_power_samples_are_integrated_without_a_counter() -> None:
    reader = FakeReader(FakeClock(), counter=False, watts=200.0)
    meter = _meter(reader)
    _blocks(meter, reader, samples_per_block=5, blocks=2)
    e = meter.finish(iterations_per_block=3, blocks_timed=2)
    assert e.method == "fake power"
    assert e.joules == pytest.approx(200.0 * 1.0)  # mean of in-block samples x 1 s covered
    assert e.average_w == pytest.approx(200.0) and e.joules_per_step == pytest.approx(200 / 6)


def test_peak_is_the_largest_sample_and_average_follows_the_counter() -> None:
    reader = FakeReader(FakeClock(), counter=True, watts=100.0)
    meter = _meter(reader)
    meter.block_start()
    for watts in (100.0, 400.0, 100.0, 100.0):
        reader.watts = watts
        reader.advance(0.25)
        meter._samples.append((reader.clock.now, watts))
    meter.block_end()
    e = meter.finish(iterations_per_block=1, blocks_timed=1)
    assert e.joules == pytest.approx(175.0) and e.average_w == pytest.approx(175.0)
    assert e.peak_w == 400.0


def test_too_few_power_samples_is_a_reason() -> None:
    reader = FakeReader(FakeClock())
    meter = _meter(reader)
    _blocks(meter, reader, samples_per_block=1, blocks=3)
    e = meter.finish(iterations_per_block=1, blocks_timed=3)
    [reason] = judge_energy(e)
    assert f"too few power samples (3 < {MIN_POWER_SAMPLES})" in reason
    assert "1.50 s of timed blocks at 20 per s" in reason


def test_blocks_shorter_than_the_counter_updates_are_a_reason() -> None:
    e = Energy("c", joules=10.0, covered_s=0.5, steps=5, power_w=(20.0,) * 10,
               sample_interval_s=0.05)  # fmt: skip
    setup = EnergySetup(method="c", counter_update_s=0.1, sample_interval_s=0.05)
    assert "fewer than 20 updates of the energy counter (100 ms each)" in judge_energy(e, setup)[0]
    assert judge_energy(replace(e, covered_s=2.5), setup) == ()


def test_a_failing_reader_costs_the_energy_not_the_timing() -> None:
    reader = FakeReader(FakeClock())

    def broken() -> float:
        raise OSError("sensor gone")

    reader.energy_j = broken  # type: ignore[method-assign]
    meter = _meter(reader)
    meter.block_start()
    e = meter.finish(iterations_per_block=1, blocks_timed=1)
    assert e.missing == "fake counter failed: OSError: sensor gone" and e.joules is None
    assert judge_energy(e) == (e.missing,)


def test_block_count_mismatch_is_missing_not_guessed() -> None:
    reader = FakeReader(FakeClock())
    meter = _meter(reader)
    _blocks(meter, reader, samples_per_block=10, blocks=2)
    e = meter.finish(iterations_per_block=1, blocks_timed=3)
    assert e.missing == "the meter saw 2 timed blocks, the timing 3"


def test_measure_tells_the_meter_about_timed_blocks_only() -> None:
    calls: list[str] = []

    class Recorder:
        def block_start(self) -> None:
            calls.append("start")

        def block_end(self) -> None:
            calls.append("end")

    policy = TimingPolicy(budget_s=0.01, min_samples=3, min_block_s=0.001, warmup_s=0.0)
    m = measure(lambda: sum(range(1000)), None, policy, meter=Recorder())
    assert calls == ["start", "end"] * m.n  # none for the first call, warm-up or calibration


def test_the_meter_samples_power_in_a_thread_during_blocks() -> None:
    import time

    reader = FakeReader(FakeClock(), counter=False, watts=123.0)
    meter = Meter(reader, interval_s=0.005)  # real clock, real thread
    meter.block_start()
    time.sleep(0.2)
    meter.block_end()
    e = meter.finish(iterations_per_block=2, blocks_timed=1)
    assert e.measured and len(e.power_w) >= 10 and set(e.power_w) == {123.0}
    assert e.average_w == pytest.approx(123.0)


def test_idle_setup_reads_idle_power_and_the_counter_update_interval() -> None:
    clock = FakeClock()
    reader = FakeReader(clock, counter=True, watts=60.0)
    polls = 0

    def sleep(s: float) -> None:  # the counter moves every tenth poll (10 ms at 1 ms a poll)
        nonlocal polls
        polls += 1
        clock.now += s
        if polls % 10 == 0:
            reader.joules += 60.0 * 0.01

    setup = idle_setup(reader, seconds=0.5, clock=clock, sleep=sleep)
    assert setup.idle_w == pytest.approx(60.0, rel=0.03)
    assert setup.counter_update_s == pytest.approx(0.01)
    assert setup.describe().startswith("energy: fake counter, power sampled every 50 ms, idle 6")


def _rapl_tree(root: Path, packages: dict[str, tuple[int, int]]) -> None:
    for name, (energy, max_range) in packages.items():
        d = root / name
        d.mkdir(parents=True)
        (d / "energy_uj").write_text(f"{energy}\n")
        (d / "max_energy_range_uj").write_text(f"{max_range}\n")
    (root / "intel-rapl:0:0").mkdir()  # a sub-domain (cores) of package 0: not added again


def test_rapl_sums_packages_and_undoes_wraparound(tmp_path: Path) -> None:
    _rapl_tree(tmp_path, {"intel-rapl:0": (999_000_000, 999_999_999), "intel-rapl:1": (5, 10**9)})
    reader = rapl_reader(tmp_path)
    assert isinstance(reader, RaplReader) and reader.has_counter
    assert reader.method == "rapl package energy counter (intel-rapl:0, intel-rapl:1)"
    assert reader.energy_j() == 0.0
    # Package 0 wraps: 999,000,000 -> max 999,999,999 -> 0 -> 500,000 is 1,500,000 uJ.
    (tmp_path / "intel-rapl:0" / "energy_uj").write_text("500000\n")
    (tmp_path / "intel-rapl:1" / "energy_uj").write_text("2000005\n")
    assert reader.energy_j() == pytest.approx(1.5 + 2.0)
    assert reader.power_w() is None  # the meter takes the counter's slope instead


def test_rapl_says_why_not(tmp_path: Path) -> None:
    missing = rapl_reader(tmp_path / "nowhere")
    assert isinstance(missing, NoEnergy) and "exposes no RAPL counters" in missing.why
    empty = rapl_reader(tmp_path)
    assert isinstance(empty, NoEnergy) and "no intel-rapl:N package domains" in empty.why


@pytest.mark.skipif(not POWERCAP.is_dir(), reason="no /sys/class/powercap on this machine")
def test_real_rapl_reads_or_says_why() -> None:
    reader = rapl_reader()
    if isinstance(reader, NoEnergy):
        assert reader.why  # root-only counters, say: a reason, not a number
        return
    first = reader.energy_j()
    sum(i * i for i in range(2_000_000))
    assert reader.energy_j() > first


@pytest.mark.skipif(POWERCAP.is_dir(), reason="this machine has /sys/class/powercap")
def test_cpu_without_powercap_says_energy_is_not_available() -> None:
    session = start_session(resolve_device("cpu"))
    assert session.reader is None and session.meter() is None
    assert session.setup.describe() == (
        "energy: not available (no /sys/class/powercap: this kernel exposes no RAPL counters"
        " (a VM or container?))"
    )


def test_vendor_backends_say_why_they_have_no_reader() -> None:
    from subsidybench.devices.vendors import AscendBackend, CambriconBackend

    assert "npu-smi" in AscendBackend().energy_reader(0).why  # type: ignore[union-attr]
    assert "cnmon" in CambriconBackend().energy_reader(0).why  # type: ignore[union-attr]


class _FakeEnergyCpu(CpuBackend):
    def __init__(self, reader: EnergyReader) -> None:
        super().__init__()
        self.reader = reader

    def energy_reader(self, index: int) -> EnergyReader | NoEnergy:
        return self.reader


class _RealClockReader(EnergyReader):
    """250 W whenever asked, on the real clock: a counter integrates it."""

    has_counter = True
    method = "steady counter"

    def __init__(self) -> None:
        import time

        self.time = time.perf_counter

    def energy_j(self) -> float:
        return 250.0 * self.time()

    def power_w(self) -> float | None:
        return 250.0


QUICK = TimingPolicy(budget_s=0.6, min_samples=3, warmup_s=0.0)


def _metered_run(tmp_path: Path) -> tuple[RunResult, Path]:
    from subsidybench.measure.runner import new_run
    from subsidybench.suites import load_suite

    device = Device(_FakeEnergyCpu(_RealClockReader()), None)
    session = start_session(device, idle_s=0.05)
    result = run_task(WorkloadTask(Matmul(n=64), DType.FP32, QUICK), device, energy=session)
    run = new_run(load_suite("ci"), device, None, energy=session.setup).with_result(result)
    path = tmp_path / "run.json"
    save_run(run, path)
    return run, path


def test_run_task_records_energy_and_the_file_keeps_it(tmp_path: Path) -> None:
    run, path = _metered_run(tmp_path)
    [r] = run.results
    assert r.ok and r.energy is not None and r.energy.measured
    assert r.energy.average_w == pytest.approx(250.0, rel=0.02)  # reads beside the clock
    assert r.energy.steps == r.measurement.n * r.measurement.iterations_per_block  # type: ignore[union-attr]
    assert run.energy is not None and run.energy.idle_w == pytest.approx(250.0, rel=0.02)
    assert load_run(path) == run
    # Enough power samples, as a quiet machine takes (a busy one may starve the sampler thread:
    # test_energy_figures_are_unknown_with_the_reason_where_not_read covers that).
    steady = replace(r.energy, power_w=(r.energy.average_w,) * MIN_POWER_SAMPLES)
    assert run.energy is not None
    run = replace(run, energy=replace(run.energy, counter_update_s=None))
    run = replace(run, results=(replace(r, energy=steady),))
    power = measured_power(run, r.id)
    assert power.basis is Basis.MEASURED and power.value == r.energy.average_w
    assert r.id in power.source and "steady counter" in power.note
    per_item = measured_energy_per_item(run, r.id)
    assert per_item.value == pytest.approx(r.energy.joules_per_step)  # one matmul per step
    table, _ = run_table(run)
    assert "energy" in [c.header for c in table.columns]
    assert "energy: steady counter" in run_header(run, str(path))


def test_energy_figures_are_unknown_with_the_reason_where_not_read(tmp_path: Path) -> None:
    run, _ = _metered_run(tmp_path)
    [r] = run.results
    bare = replace(
        run,
        energy=EnergySetup(method=None, why_not="no /sys/class/powercap"),
        results=(replace(r, energy=None),),
    )
    power = measured_power(bare, r.id)
    assert not power.known and "energy not available (no /sys/class/powercap)" in power.note
    few = replace(run, results=(replace(r, energy=replace(r.energy, power_w=(1.0,))),))
    assert "too few power samples" in measured_power(few, r.id).note  # type: ignore[operator]
    with pytest.raises(UserError, match="no workload 'nope' in the run"):
        measured_power(run, "nope")


def test_a_session_meter_is_none_without_a_reader() -> None:
    setup = EnergySetup(method=None, why_not="x")
    assert EnergySession(None, setup).meter() is None
    with pytest.raises(ValueError, match="must say why"):
        EnergySetup(method=None)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA or ROCm GPU")
def test_gpu_energy_reads_or_says_why() -> None:
    device = resolve_device("cuda")
    reader = device.energy_reader()
    if isinstance(reader, NoEnergy):
        pytest.skip(f"no energy reader on this GPU: {reader.why}")
    watts = reader.power_w()
    assert watts is not None and 10 < watts < 2000  # a GPU board, idle or busy
    if reader.has_counter:
        first = reader.energy_j()
        x = torch.randn(4096, 4096, device=device.torch_device)
        for _ in range(200):
            x = x @ x
            x = x / x.norm()
        torch.cuda.synchronize()
        assert reader.energy_j() > first


def test_owned_hardware_is_costed_on_the_power_the_run_measured(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from subsidybench.cli import app

    run, path = _metered_run(tmp_path)
    [r] = run.results
    assert r.energy is not None and r.energy.average_w is not None and run.energy is not None
    # Enough power samples, as a quiet machine takes (a busy one may starve the sampler thread
    # in 0.6 s): the costing, not the machine's load, is what is tested here.
    steady = replace(r.energy, power_w=(r.energy.average_w,) * MIN_POWER_SAMPLES)
    run = replace(run, energy=replace(run.energy, counter_update_s=None))
    run = replace(run, results=(replace(r, energy=steady),))
    save_run(run, path := tmp_path / "steady.json")
    [r] = run.results
    assert r.energy is not None and r.energy.average_w is not None
    owned = ["cost", "--hours", "1000", "--capex", "0", "--currency", "CNY", "--lifetime", "5"]
    owned += ["--cost-of-capital", "0", "--pue", "1", "--tariff", "1", "--force"]
    result = CliRunner().invoke(
        app, [*owned, "--run", str(path), "--workload", r.id], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    # Capex 0: the hour costs its energy alone, average watts / 1000 x 1 CNY per kWh.
    line = next(x for x in result.stdout.splitlines() if "│ price per device-hour" in x)
    assert float(line.split("│")[2].split()[0]) == pytest.approx(
        r.energy.average_w / 1000, abs=0.006
    )
    assert "measured" in result.stdout and r.id in " ".join(result.stdout.split())
