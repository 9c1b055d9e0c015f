"""The catalogue of published results (profiles/published/): what it holds, how cost takes it as a
rate, parity rents against a priced device, and the seed article's cross-device claims checked
on it. Figures asserted here are the sources' own; each test names where they come from."""

from __future__ import annotations

import dataclasses
import datetime
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from subsidybench.catalogue.profiles import load_profile
from subsidybench.catalogue.published import Phase, list_published, load_published
from subsidybench.cli import app
from subsidybench.cost.claims import check_claim
from subsidybench.cost.inputs import flag_of
from subsidybench.cost.parity import parity
from subsidybench.cost.request import Request
from subsidybench.errors import UserError

ENV = {"COLUMNS": "200"}


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=ENV)
    return result.exit_code, result.stdout, result.stderr


def test_catalogue_holds_sourced_dated_results_many_on_domestic_chips() -> None:
    results = list_published()
    assert len(results) >= 12
    domestic = [r for r in results if load_profile(r.device).domestic]
    assert len(domestic) >= 5
    for r in results:
        assert re.search(r"https?://|arXiv:", r.source), r.id
        assert r.published <= r.checked <= datetime.date.today().isoformat()
        assert r.as_published and r.precision and r.parallelism


def test_figures_are_the_sources_own() -> None:
    # CloudMatrix-Infer (arXiv:2506.12708) abstract: 6,688 prefill, 1,943 decode at TPOT < 50 ms,
    # 538 at 15 ms, per NPU. DeepSeek's day-6 overview: 73.7k input and 14.8k output tokens/s per
    # H800 node of 8. LMSYS (2025-05-05): 54,543 prefill per node at 2K, 22,282 decode per node.
    # MLPerf Inference v4.1 summary logs: 24,524.9 tokens/s on 8 H100, 23,514.8 on 8 MI300X.
    expected = {
        "cm384-deepseek-r1-prefill": 6688,
        "cm384-deepseek-r1-decode-tpot50": 1943,
        "cm384-deepseek-r1-decode-tpot15": 538,
        "deepseek-h800-prefill": 73_700 / 8,
        "deepseek-h800-decode": 14_800 / 8,
        "sglang-h100-deepseek-prefill": 54_543 / 8,
        "sglang-h100-deepseek-decode": 22_282 / 8,
        "mlperf-inf41-h100-llama2-70b-offline": 24_524.9 / 8,
        "mlperf-inf41-mi300x-llama2-70b-offline": 23_514.8 / 8,
        "pangu-ultra-moe-train-tokens": 1_460_000 / 6_000,
        "pangu-ultra-moe-train-mfu": 0.30,
    }
    for rid, value in expected.items():
        assert load_published(rid).value == pytest.approx(value, rel=1e-3), rid
    assert load_published("cm384-deepseek-r1-decode-tpot15").tpot_ms == 15


def test_list_and_show() -> None:
    code, out, _ = invoke("published", "list")
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("cm384-deepseek-r1-decode-tpot50"))
    assert "cloudmatrix-384" in line and "deepseek-r1" in line and "decode" in line
    assert "1,943 output tokens/s per device" in line and "2025-06-15" in line
    code, out, _ = invoke("published", "show", "cm384-deepseek-r1-decode-tpot50")
    assert code == 0
    assert "basis: published" in out and "<= 50 ms" in out and "arxiv.org/abs/2506.12708" in out


def _user_dir(tmp_path: Path, body: str) -> Path:
    (tmp_path / "published").mkdir()
    (tmp_path / "published" / "mine.toml").write_text(body)
    return tmp_path


GOOD = """title = "A quote's figure"
publisher = "A vendor"
source = "Quote of 2026-11-02, https://example.com/quote"
published = 2026-11-02
checked = 2026-11-03
device = "h20"
model = "qwen3-32b"
phase = "decode"
metric = "output_tokens_per_s"
value = 900
as_published = "900 tokens/s per card"
precision = "FP8"
parallelism = "TP1"
tpot_ms = 40
"""


def test_user_directory_adds_a_result(tmp_path: Path) -> None:
    root = _user_dir(tmp_path, GOOD)
    code, out, _ = invoke("published", "list", "--profiles-dir", str(root))
    assert code == 0 and "mine  h20  qwen3-32b  decode  900 output tokens/s" in out
    code, out, _ = invoke(
        *("cost", "--serve", "1e6", "--profile", "h20", "--model", "qwen3-32b"),
        *("--profiles-dir", str(root)),
    )
    assert code == 0, out
    assert "900 tokens/s per device at decode (output tokens); TPOT <= 40 ms" in out


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (('metric = "output_tokens_per_s"', 'metric = "mfu"'), "a decode result states"),
        (('device = "h20"', 'device = "h200x"'), "device 'h200x' is no device profile"),
        (("published = 2026-11-02", "published = 2999-01-01"), "in the future"),
        (("value = 900", "value = -1"), "value: must be a number > 0"),
        (('precision = "FP8"', 'precision = ""'), "precision: must not be empty"),
    ],
)
def test_a_bad_file_is_one_line_naming_it(tmp_path: Path, change, words: str) -> None:
    root = _user_dir(tmp_path, GOOD.replace(*change))
    code, _, err = invoke("published", "list", "--profiles-dir", str(root))
    assert code == 1 and err.count("\n") == 1
    assert "mine" in err and words in err


def test_cost_on_a_published_decode_rate() -> None:
    # The first reproducer: no run, no hand-given rate.
    code, out, err = invoke(
        *("cost", "--serve", "1e9", "--published", "cm384-deepseek-r1-decode-tpot50"),
        *("--subsidy", "shanghai-2025-compute", "--price", "2", "--currency", "USD"),
    )
    assert code == 0, err
    hours = 1e9 / 1943 / 3600
    assert f"{hours:,.0f}" in out  # device-hours
    assert "at decode (output tokens); TPOT <= 50 ms" in out  # conditions in the headline
    assert "(published)" in out
    assert "published by Huawei (Zuo et al.) on 2025-06-15" in " ".join(out.split())
    assert "not measured by this tool" in " ".join(out.split())
    assert f"{hours * 2:,.2f} USD" in out  # gross, before the subsidy
    assert "net cost per million tokens" in out
    assert "Range: none" in out  # a published figure with no spread gets none


def test_model_picks_the_one_result_and_tpot_picks_among_several() -> None:
    code, _, err = invoke(
        "cost", "--serve", "1e9", "--profile", "ascend-910c", "--model", "deepseek-r1"
    )
    assert code == 1
    assert "2 published results fit deepseek-r1 on ascend-910c" in err and "--tpot-ms" in err
    code, out, err = invoke(
        *("cost", "--serve", "1e9", "--profile", "ascend-910c", "--model", "deepseek-r1"),
        "--tpot-ms",
        "20",
    )
    assert code == 0, err
    assert "538 tokens/s per device" in out and "TPOT <= 15 ms" in out


def test_a_published_rate_keeps_its_device_and_its_bound() -> None:
    code, _, err = invoke(
        *("cost", "--serve", "1e9", "--published", "sglang-h100-deepseek-decode"),
        *("--profile", "ascend-910b"),
    )
    assert code == 1 and "published for h100-sxm, not ascend-910b" in err
    code, _, err = invoke(
        *("cost", "--serve", "1e9", "--published", "cm384-deepseek-r1-decode-tpot50"),
        *("--tpot-ms", "15"),
    )
    assert code == 1 and "holds at TPOT <= 50 ms, not within 15 ms" in err


def test_training_on_a_published_mfu() -> None:
    # Pangu Ultra MoE (arXiv:2505.04519): MFU 30.0% on 6K Ascend NPUs; priced on the 910B peak.
    code, out, err = invoke(
        *("cost", "--train", "39e9:1e12", "--published", "pangu-ultra-moe-train-mfu"),
        *("--devices", "6000", "--scaling-efficiency", "1"),
    )
    assert code == 0, err
    peak = load_profile("ascend-910b").peak_tflops
    assert "MFU 30.0% (published)" in out
    assert peak  # the profile has a bf16 peak to divide by


def test_parity_rent_of_a_contract_against_a_priced_h20() -> None:
    # The second reproducer: the 910B has no rent; the H20 has one (GPU price index).
    # Shanghai's small-firm rate is the same for both chips, so the same work costs the same net
    # at the same rent: parity is the H20's own 7.5 CNY.
    code, out, err = invoke(
        *("cost", "--contract", "2.4e6", "--currency", "CNY", "--subsidy"),
        *("shanghai-2025-compute", "--small-firm", "--devices", "32"),
        *("--profile", "ascend-910b", "--vs", "h20"),
    )
    assert code == 0, err
    assert "ascend-910b matches h20 at 7.5 CNY per device-hour" in out
    assert "h20: rent 7.5 CNY per device-hour" in out and "gpu-price-index" in out
    assert "a device-hour of each taken as the same work" in out
    assert "the 320,000 device-hours of h20 the job buys there" in out


def _contract(programme: str, **kw) -> Request:
    return Request(
        contract=np.array([2.4e6]),
        currency="CNY",
        subsidy=programme,
        devices=np.array([32.0]),
        profile="ascend-910b",
        vs="h20",
        **kw,
    )


def test_at_the_parity_rent_the_same_work_costs_the_same_net() -> None:
    p = parity(_contract("shanghai-2025-compute", small_firm=True))
    assert p.crossings == pytest.approx((7.5,), rel=1e-6)
    a, b = p.answer, p.vs_answer
    assert a is not None and a.device_hours == pytest.approx(b.device_hours)
    assert a.net == pytest.approx(b.net, rel=1e-6)


def test_a_domestic_rate_raises_the_parity_rent() -> None:
    # Hangzhou's programme pays a domestic chip more: the 910B matches the H20 at a higher rent,
    # where the same work nets the same after each chip's own rate.
    p = parity(_contract("hangzhou-2024"))
    a, b = p.answer, p.vs_answer
    assert p.rent is not None and p.rent > 7.5 and a is not None
    assert a.gross is not None and b.gross is not None and a.net and b.net
    assert p.rent == pytest.approx(7.5 * (b.net / b.gross) / (a.net / a.gross), rel=1e-6)


def test_parity_without_a_subsidy_is_the_rent_times_the_rate_ratio() -> None:
    # No programme: the same job costs the same where rent / rate is the same on both sides,
    # so the parity rent is the H800's 2 USD x 1,943 / 1,850 (the two published decode rates).
    r = Request(
        serve=1e9,
        published="cm384-deepseek-r1-decode-tpot50",
        profile="ascend-910c",
        vs="h800",
    )
    p = parity(r)
    assert p.rent == pytest.approx(2.0 * 1943 / 1850, rel=1e-6)
    assert p.work_basis == "published deepseek-r1 results on each device"


def test_parity_refuses_what_it_cannot_weigh() -> None:
    base = Request(serve=1e9, tokens_per_s=np.array([1000.0]), profile="ascend-910c", vs="h800")
    with pytest.raises(UserError, match="same kind of evidence"):
        parity(base)
    with pytest.raises(UserError) as caught:
        parity(dataclasses.replace(base, tokens_per_s=None, price=np.array([1.0])))
    assert "drop --price" in caught.value.say(flag_of)
    with pytest.raises(UserError, match="no rent in the catalogue"):
        parity(Request(hours=np.array([100.0]), profile="h800", vs="ascend-910b"))


def test_seed_claim_910c_about_65_percent_of_h100() -> None:
    # The seed article (The AI Report, 2025-07-30): "Huawei's Ascend 910C chip now reportedly
    # achieves approximately 65% of Nvidia's supreme H100 capacity". Press of 2025-02 (Tom's
    # Hardware, relayed by smbom.com/news/28730) put it at "60% of the inference performance of
    # the H100", from tests attributed to DeepSeek researchers. Published per-device rates on
    # DeepSeek-R1: decode 1,943 tokens/s per 910C at TPOT < 50 ms and 538 at 15 ms
    # (arXiv:2506.12708) against 2,785 per H100 at ~100 ms ITL (LMSYS 2025-05-05); prefill 6,688
    # against 6,818 at 2K prompts.
    decode = check_claim("ascend-910c", "h100-sxm", "deepseek-r1", "decode", 0.65)
    assert decode.point == pytest.approx(1943 / (22_282 / 8), rel=1e-6)  # 0.698
    assert decode.range == pytest.approx((538 / (22_282 / 8), 1943 / (22_282 / 8)))
    assert "lies within the published range" in decode.verdict()
    prefill = check_claim("ascend-910c", "h100-sxm", "deepseek-r1", "prefill", 0.60)
    assert prefill.point == pytest.approx(6688 / (54_543 / 8), rel=1e-4)  # 0.981
    assert "lies below the published range" in prefill.verdict()
    # The datasheet estimate beside it: 752 / 989.4 dense bf16.
    assert decode.peak_ratio == pytest.approx(752 / 989.4, rel=1e-3)


def test_claim_without_published_pairs_falls_back_to_the_datasheet() -> None:
    c = check_claim("ascend-910b", "h20", "deepseek-r1", "decode")
    assert c.pairs == () and c.basis == "datasheet estimate"
    code, out, _ = invoke("published", "claim", "ascend-910b", "h20", "--model", "deepseek-r1")
    assert code == 0 and "no published result on both sides" in out


def test_choosing_an_mfu_shows_the_evidence() -> None:
    code, out, _ = invoke("profiles", "show", "ascend-910b")
    assert code == 0
    assert "Evidence for a rate" in out and "pangu-ultra-moe-train-mfu: MFU 30.0%" in out
    code, _, err = invoke("cost", "--train", "39e9:1e12", "--profile", "ascend-910b")
    assert code == 1 and err.count("\n") == 1
    assert "What the catalogue has for ascend-910b" in err and "MFU 30.0%" in err
    code, _, err = invoke("cost", "--serve", "1e9", "--profile", "h20")
    assert "published MFU on h100-sxm (same vendor)" in err


def test_catalogue_check_counts_and_ages_published_results() -> None:
    code, out, _ = invoke("catalogue", "check")
    assert code == 0
    n = len(list_published())
    domestic = sum(bool(load_profile(r.device).domestic) for r in list_published())
    assert f"published results: {n}; published on domestic devices: {domestic}" in out
    code, out, _ = invoke("catalogue", "check", "--today", "2028-06-01")
    assert "published/cm384-deepseek-r1-prefill: last checked" in out


def test_phases_and_metrics_agree() -> None:
    for r in list_published():
        if r.phase is Phase.TRAIN:
            assert r.metric.value in ("mfu", "train_tokens_per_s")
        else:
            assert r.metric.value.endswith("tokens_per_s")


def test_a_comparison_file_takes_published_rates(tmp_path: Path) -> None:
    # Both options at 2 USD per device-hour: the ranking follows the two published decode rates.
    options = tmp_path / "options.toml"
    options.write_text(
        '[[option]]\nlabel = "cm384"\nprofile = "ascend-910c"\n'
        'published = "cm384-deepseek-r1-decode-tpot50"\nprice = 2.0\ncurrency = "USD"\n\n'
        '[[option]]\nlabel = "h800"\nprofile = "h800"\npublished = "deepseek-h800-decode"\n'
    )
    code, out, err = invoke("cost", "--serve", "1e9", "--compare", str(options))
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.startswith(("│ 1", "│ 2"))]
    assert "cm384" in rows[0] and "h800" in rows[1]
    assert f"{2e3 / 1943 / 3.6:.4f}" in rows[0]  # net per million tokens: 2 USD / rate


def test_a_published_rate_at_scale_is_not_scaled_again() -> None:
    # 1,943 tokens/s per NPU is per device inside the CloudMatrix 384 it was published on: a
    # whole system serves 384 x 1,943 tokens/s with no scaling efficiency asked for.
    code, out, err = invoke(
        *("cost", "--serve", "1e12", "--profile", "cloudmatrix-384"),
        *("--published", "cm384-deepseek-r1-decode-tpot50", "--price", "2", "--currency", "USD"),
    )
    assert code == 0, err
    hours = 1e12 / (1943 * 384) / 3600
    assert f"({hours:,.1f} h) on 384 device(s)" in out
    assert "the published rate is per device at its own scale" in " ".join(out.split())


def test_report_gives_the_parity_rent_of_an_estimate_target(run_file: Path, tmp_path: Path) -> None:
    # An H100 run priced at 2 USD, estimated on the 910B (no rent): the note gives the rent at
    # which the 910B's estimated rate costs the same per FLOP of the reference workload.
    from subsidybench.results.record import load_run, save_run

    path = tmp_path / "h100.json"
    save_run(dataclasses.replace(load_run(run_file), profile="h100-sxm"), path)
    out_dir = tmp_path / "rep"
    code, _, err = invoke(
        *("report", str(path), "--estimate-on", "ascend-910b", "--price", "h100=2"),
        *("--currency", "USD", "--out", str(out_dir)),
    )
    assert code == 0, err
    text = " ".join((out_dir / "report.md").read_text().split())
    m = re.search(r"ascend-910b matches h100-sxm at ([\d.,]+) USD per device-hour", text)
    assert m is not None, text[-2000:]
    assert "per FLOP of gemm-bf16" in text
    # Same workload, no programme: parity = 2 USD x (estimated 910B rate / measured H100 rate).
    from subsidybench.cost.request import Request as R
    from subsidybench.cost.scenario import resolve

    est = resolve(
        R(hours=np.array([1.0]), run=path, workload="gemm-bf16", estimate_on="ascend-910b")
    )
    own = resolve(R(hours=np.array([1.0]), run=path, workload="gemm-bf16", profile="h100-sxm"))
    ratio = est.throughput.one().per_second / own.throughput.one().per_second
    assert float(m.group(1).replace(",", "")) == pytest.approx(2 * ratio, rel=1e-3)
