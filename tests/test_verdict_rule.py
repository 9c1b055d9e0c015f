"""One verdict whatever reads it, and figures that are not the device's own (issue 30 items 5, 8).

The runner and the loader judge by one rule on the figures a result stores: whether the host's
load counts is stored with it, so a result "valid" after a run is "valid" in `show`, however busy
the machine was. A test hook, an emulated dtype or a foreign load marks a result as not a device
figure, and cost refuses it without --force.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from factories import point_result, serving_run

from subsidybench.cost.inputs import flag_of
from subsidybench.cost.throughput import from_run
from subsidybench.errors import UserError
from subsidybench.results.record import load_run, save_run
from subsidybench.results.trust import HOOK_NOTE, not_device_figures, verdict_of
from subsidybench.timing import Measurement, TimingPolicy, Verdict

STEADY = Measurement((0.010, 0.0101, 0.0099, 0.010, 0.0100), 10, 3, 0.2, True)
POLICY = TimingPolicy()


def _busy(host_load_judged: bool | None) -> object:
    """A result timed while other processes used 31% of the CPU (the flaky test's figure)."""
    verdict = verdict_of(STEADY, POLICY, 0.31, bool(host_load_judged))
    r = point_result(1, 0.01, 0.001, 0.001)
    return replace(
        r,
        measurement=STEADY,
        policy=POLICY,
        verdict=verdict,
        foreign_cpu=0.31,
        host_load_judged=host_load_judged,
        metrics={},
    )


@pytest.mark.parametrize("judged", [False, True])
def test_the_verdict_after_a_run_is_the_verdict_on_load(tmp_path: Path, judged: bool) -> None:
    run = serving_run(_busy(judged))
    path = tmp_path / "run.json"
    save_run(run, path)
    loaded = load_run(path)
    assert loaded == run
    [r] = loaded.results
    assert r.verdict is not None and r.verdict.valid is (not judged)
    assert r.host_load_judged is judged


def test_a_file_from_before_the_flag_is_judged_as_the_runner_did(tmp_path: Path) -> None:
    """A single CPU process: the host's load counted; the stored "valid" is judged again."""
    r = replace(_busy(False), verdict=Verdict(True))  # type: ignore[type-var]
    doc = serving_run(r).to_dict()
    del doc["results"][0]["host_load_judged"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    [again] = load_run(path).results
    assert again.verdict is not None and not again.verdict.valid
    assert "machine busy" in str(again.verdict)


def test_a_test_hook_is_not_a_device_figure_and_cost_refuses_it(tmp_path: Path) -> None:
    hooked = replace(point_result(1, 1.0, 0.1, 0.05), reason=f"planted slowdown: {HOOK_NOTE}")
    doc = serving_run(hooked).to_dict()  # as a run made before results carried the mark
    path = tmp_path / "hooked.json"
    path.write_text(json.dumps(doc))
    run = load_run(path)
    assert not_device_figures(run) == [f"{hooked.id}: planted slowdown: {HOOK_NOTE}"]
    with pytest.raises(UserError, match=r"not a device figure.*force") as refused:
        from_run(run, str(path), hooked.id)
    assert "pass --force" in refused.value.say(flag_of)  # as the CLI says it
    forced = from_run(run, str(path), hooked.id, force=True)
    assert "FORCED: not a device figure" in forced.source
    save_run(run, tmp_path / "again.json")  # the mark is kept in its own field from now on
    saved = json.loads((tmp_path / "again.json").read_text())
    assert saved["results"][0]["not_device_figure"] == [f"planted slowdown: {HOOK_NOTE}"]


def test_a_rate_past_what_a_device_does_is_invalid_on_load(tmp_path: Path) -> None:
    from subsidybench.dtypes import DType
    from subsidybench.provenance import Basis, Figure

    r = point_result(1, 1.0, 0.1, 0.05)  # 1e9 FLOPs a second step: 1e-3 TFLOP/s
    for peak, valid in ((1e-3 / 1.49, True), (1e-3 / 1.51, False)):
        figure = Figure(peak, Basis.VENDOR, "test")
        run = replace(serving_run(r), peak_tflops={DType.BF16: figure})
        save_run(run, path := tmp_path / f"{valid}.json")
        [loaded] = load_run(path).results
        assert loaded.verdict is not None and loaded.verdict.valid is valid
        if not valid:
            assert "the peak or the work per step is wrong" in str(loaded.verdict)
