"""Contract acceptance: the sign test by hand, clauses against synthetic runs, the accept command's
exit statuses and one-line errors on bad contract files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import environment
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.provenance import Basis, Figure
from subsidybench.results.acceptance import (
    Outcome,
    accept,
    binomial_tail,
    samples_needed,
    sign_test,
)
from subsidybench.results.context import DeviceRecord, Distributed
from subsidybench.results.contract import Doubt, load_contract, parse_contract
from subsidybench.results.record import RunResult, RunState, Status, WorkloadResult, save_run
from subsidybench.timing import Measurement, TimingPolicy, judge
from subsidybench.work import Work

MIB = 1 << 20
POLICY = TimingPolicy(max_spread=1.0)


def _result(
    rid: str, workload: str, family: str, work: Work, samples: list[float], **params: object
) -> WorkloadResult:
    m = Measurement(tuple(samples), 10, 3, 0.2, True)
    return WorkloadResult(
        id=rid,
        workload=workload,
        family=family,
        params=dict(params),
        dtype=DType(rid.rsplit("/", 1)[1]),
        status=Status.OK,
        work=work,
        measurement=m,
        verdict=judge(m, POLICY),
        policy=POLICY,
    )


def _samples(median: float, n: int = 11) -> list[float]:
    # Evenly spread around the median, +-5%: the median of n (odd) values is exactly `median`.
    return [median * (0.95 + 0.1 * i / (n - 1)) for i in range(n)]


def _run(scale: float = 1.0, devices: int = 8) -> RunResult:
    """A node of `devices` devices: a bf16 matmul at 700 TFLOP/s, a copy at 3,000 GB/s, GPT
    training at 40% of a 1,000 TFLOP/s peak, an 8-rank all-reduce of 256 MiB at 400 GB/s bus
    bandwidth, all divided by `scale`."""
    matmul = Work(7e11, 0.0, 1.0, "matmul")  # 7e11 FLOP in 1 ms: 700 TFLOP/s
    copy = Work(0.0, 3e9, 1.0, "copy")  # 3e9 bytes in 1 ms: 3,000 GB/s
    gpt = Work(4e11, 0.0, 1000.0, "token")  # 4e11 FLOP in 1 ms: 400 TFLOP/s = 40% MFU
    # busbw = S/t x 2(n-1)/n with n = 8: t = 256 MiB x 1.75 / 400 GB/s.
    t_allreduce = 256 * MIB * 1.75 / 400e9
    results = (
        _result("matmul[n=8192]/bf16", "matmul", "primitive", matmul, _samples(1e-3 * scale)),
        _result("copy[mib=1024]/bf16", "copy", "primitive", copy, _samples(1e-3 * scale)),
        _result("gpt_train[batch=8]/bf16", "gpt_train", "training", gpt, _samples(1e-3 * scale)),
        _result(
            f"all_reduce[bytes={256 * MIB},world_size=8]/bf16",
            "all_reduce",
            "collective",
            Work(0.0, 256 * MIB, 1.0, "all_reduce"),
            _samples(t_allreduce * scale),
            bytes=256 * MIB,
            world_size=8,
        ),
    )
    return RunResult(
        suite="standard",
        suite_version=1,
        device=DeviceRecord("cuda", 0, "NVIDIA H100 80GB HBM3"),
        environment=environment(device_count=devices, backend="cuda"),
        started="2026-01-01T00:00:00Z",
        state=RunState.COMPLETE,
        profile="h100-sxm",
        peak_tflops={DType.BF16: Figure(1000.0, Basis.VENDOR, "test")},
        results=results,
        distributed=Distributed(8, "nccl", None, 1, (8,), 300.0),
    )


CONTRACT = """
contract = "8 x H100 test"
confidence = 0.95

[[clause]]
figure = "matmul_tflops"
dtype = "bf16"
min = 650

[[clause]]
figure = "memory_bandwidth_gbs"
min = 2800

[[clause]]
figure = "allreduce_busbw_gbs"
bytes = "256MiB"
min = 380

[[clause]]
figure = "gpt_train_mfu"
dtype = "bf16"
min = 0.38

[[clause]]
figure = "devices"
min = 8

[[clause]]
figure = "memory_gb_per_device"
min = 80
optional = true
"""


def _contract(tmp_path: Path, text: str = CONTRACT) -> Path:
    path = tmp_path / "contract.toml"
    path.write_text(text)
    return path


def test_binomial_tail_by_hand() -> None:
    assert binomial_tail(5, 5) == 1 / 32
    assert binomial_tail(5, 0) == 1.0
    assert binomial_tail(4, 3) == 5 / 16  # C(4,3) + C(4,4) = 5 of 16
    assert binomial_tail(3, 4) == 0.0


def test_sign_test_on_known_samples() -> None:
    # 5 of 5 below: confidence short = 1 - 1/32; met: 1 - P(X >= 0) = 0.
    assert sign_test([1, 2, 3, 4, 5], 10) == (pytest.approx(31 / 32), 0.0)
    # 3 below, 1 above, 1 tie (dropped): n = 4; short = 1 - P(X >= 3) = 11/16;
    # met = 1 - P(X >= 1) = 1/16.
    short, met = sign_test([1, 2, 3, 5, 9], 5)
    assert short == pytest.approx(11 / 16)
    assert met == pytest.approx(1 / 16)
    assert sign_test([5, 5], 5) == (0.0, 0.0)
    assert samples_needed(0.95) == 5  # 1 - 1/32 >= 0.95 > 1 - 1/16


def test_a_run_meeting_the_contract_passes(tmp_path: Path) -> None:
    contract = load_contract(_contract(tmp_path))
    result = accept(contract, [("a", _run())])
    outcomes = {r.clause.quantity.value: r for r in result.results}
    assert outcomes["matmul_tflops"].measured == pytest.approx(700.0)
    assert outcomes["memory_bandwidth_gbs"].measured == pytest.approx(3000.0)
    assert outcomes["allreduce_busbw_gbs"].measured == pytest.approx(400.0)
    assert outcomes["gpt_train_mfu"].measured == pytest.approx(0.40)
    assert outcomes["devices"].measured == 8
    assert outcomes["memory_gb_per_device"].outcome is Outcome.NOT_MEASURED
    for r in result.results[:5]:
        assert r.outcome is Outcome.PASS, r
    # Every sample of a 700 TFLOP/s matmul (+-5%) is above 650: nothing suggests a shortfall.
    assert outcomes["matmul_tflops"].below == 0
    assert outcomes["matmul_tflops"].confidence_short == 0.0
    assert result.accepted


def test_a_slow_run_fails_with_the_confidence_of_the_shortfall(tmp_path: Path) -> None:
    contract = load_contract(_contract(tmp_path))
    # 10% slower: matmul 636 TFLOP/s, MFU 36.4%.
    result = accept(contract, [("slow", _run(scale=1.1))])
    matmul = result.results[0]
    assert matmul.measured == pytest.approx(700 / 1.1)
    # Samples are 1.1 ms x (0.95 .. 1.05): rates 700/1.1/(0.95..1.05) = 606..670; those above
    # 650 are the ones with factor < 700/(1.1*650) = 0.979: factors 0.95, 0.96, 0.97: 3 above.
    assert matmul.below == 8
    assert matmul.confidence_short == pytest.approx(1 - binomial_tail(11, 8))
    assert matmul.confidence_short < 0.95
    assert matmul.outcome is Outcome.PASS  # 8 of 11 below is not a shortfall shown at 95%
    mfu = next(r for r in result.results if r.clause.quantity.value == "gpt_train_mfu")
    assert mfu.measured == pytest.approx(0.4 / 1.1)
    # MFU samples 0.4/1.1/(0.95..1.05) = 0.383..0.346: only the first is above 0.38.
    assert mfu.below == 10 and mfu.outcome is Outcome.FAIL
    assert mfu.confidence_short == pytest.approx(1 - (11 + 1) / 2**11)
    assert not result.accepted


def test_buyer_gets_the_doubt(tmp_path: Path) -> None:
    text = CONTRACT.replace("confidence = 0.95", 'confidence = 0.95\nbenefit_of_doubt = "buyer"')
    contract = load_contract(_contract(tmp_path, text))
    assert contract.doubt is Doubt.BUYER
    matmul = accept(contract, [("slow", _run(scale=1.1))]).results[0]
    assert matmul.outcome is Outcome.FAIL  # not shown to be met


def test_runs_pool_their_samples(tmp_path: Path) -> None:
    contract = load_contract(_contract(tmp_path))
    result = accept(contract, [("a", _run()), ("b", _run(scale=1.02))])
    matmul = result.results[0]
    assert matmul.n == 22
    assert len(matmul.sources) == 2


def test_too_few_devices_and_missing_figures(tmp_path: Path) -> None:
    contract = load_contract(_contract(tmp_path))
    run = _run(devices=4)
    bare = RunResult(
        suite=run.suite,
        suite_version=1,
        device=run.device,
        environment=environment(device_count=4),
        started=run.started,
        state=RunState.COMPLETE,
        results=run.results[:1],
    )
    result = accept(contract, [("bare", bare)])
    by = {r.clause.quantity.value: r for r in result.results}
    assert by["devices"].outcome is Outcome.FAIL and by["devices"].measured == 4
    assert by["allreduce_busbw_gbs"].outcome is Outcome.NOT_MEASURED
    assert not by["allreduce_busbw_gbs"].passed
    assert by["memory_gb_per_device"].passed  # optional


def test_accept_command_exit_statuses(tmp_path: Path) -> None:
    contract = _contract(tmp_path)
    good, slow = tmp_path / "good.json", tmp_path / "slow.json"
    save_run(_run(), good)
    save_run(_run(scale=1.1), slow)
    runner = CliRunner()
    ok = runner.invoke(
        app, ["accept", str(contract), str(good), "--json", str(tmp_path / "a.json")]
    )
    assert ok.exit_code == 0, ok.output
    assert "accepted: all 6 clauses pass" in ok.output
    doc = json.loads((tmp_path / "a.json").read_text())
    assert doc["accepted"] is True and doc["clauses"][0]["measured_median"] == pytest.approx(700)
    bad = runner.invoke(app, ["accept", str(contract), str(slow)])
    assert bad.exit_code == 3, bad.output
    assert "NOT accepted" in bad.output and "gpt_train_mfu" in bad.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("contract = 'x'\n", "a contract needs at least one [[clause]]"),
        (
            "contract = 'x'\n[[clause]]\nfigure = 'tflops'\nmin = 1\n",
            "clause[0].figure: 'tflops' is not one of",
        ),
        (
            "contract = 'x'\n[[clause]]\nfigure = 'matmul_tflops'\nmin = 1\n",
            "clause[0]: a matmul_tflops clause needs a dtype",
        ),
        (
            "contract = 'x'\n[[clause]]\nfigure = 'devices'\nmin = -1\n",
            "clause[0]: min must be a finite number > 0",
        ),
        (
            "contract = 'x'\n[[clause]]\nfigure = 'devices'\nmin = 8\ndtype = 'bf16'\n",
            "clause[0].dtype: unknown field",
        ),
        (
            "contract = 'x'\n[[clause]]\nfigure = 'allreduce_busbw_gbs'\nmin = 8\nbytes = '1 TB'\n",
            "clause[0].bytes: expected bytes",
        ),
        ("contract = 'x'\nconfidence = 1.5\n[[clause]]\nfigure='devices'\nmin=1\n", "confidence"),
        ("contract = [", "not valid TOML"),
    ],
)
def test_bad_contract_files_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = _contract(tmp_path, text)
    with pytest.raises(UserError, match=None) as e:
        load_contract(path)
    assert message in str(e.value)
    assert str(path) in str(e.value)
    run = tmp_path / "run.json"
    save_run(_run(), run)
    out = CliRunner().invoke(app, ["accept", str(path), str(run)])
    assert out.exit_code == 1
    assert out.output.count("\n") == 1 and out.output.startswith("error: ")


def test_the_example_contract_reads() -> None:
    path = Path(__file__).resolve().parents[1] / "examples" / "contract.toml"
    contract = load_contract(path)
    assert len(contract.clauses) == 6
    assert contract.signed == "2026-01-15"
    assert parse_contract({"contract": "x", "clause": [{"figure": "devices", "min": 1}]}, "t")


def test_json_carries_the_pooled_values(tmp_path: Path) -> None:
    contract = load_contract(_contract(tmp_path))
    doc = accept(contract, [("a", _run()), ("b", _run())]).to_dict()
    matmul = doc["clauses"][0]
    assert len(matmul["sample_values"]) == matmul["samples"] == 22
    assert sorted(matmul["sample_values"])[11] == pytest.approx(matmul["measured_median"], rel=0.01)
