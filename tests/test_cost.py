"""The cost model against worked examples derived by hand and against published training runs."""

from __future__ import annotations

import dataclasses
import datetime
import math
from pathlib import Path

import numpy as np
import pytest

from subsidybench.catalogue.subsidies import Spend, load_programme
from subsidybench.cost import model as cost
from subsidybench.cost.inputs import flag_of
from subsidybench.cost.model import (
    PFLOP_DAY,
    Cluster,
    ContractJob,
    HourlyPrice,
    HoursJob,
    Option,
    OwnedHardware,
    ServeJob,
    SubsidyTerms,
    TrainJob,
)
from subsidybench.cost.request import Request
from subsidybench.cost.scenario import resolve
from subsidybench.cost.sweep import sweep
from subsidybench.cost.throughput import (
    WorkUnit,
    from_mfu,
    from_run_file,
    given_tflops,
    given_tokens_per_s,
)
from subsidybench.errors import UserError
from subsidybench.provenance import Basis


def rent(amount: float, currency: str = "CNY") -> HourlyPrice:
    return HourlyPrice.rent(amount, currency, Basis.GIVEN, "test")


# --------------------------------------------------------------------------------------------
# Worked examples


def test_capital_recovery_factor_by_hand() -> None:
    # At 0%: 1/n. At 8% over 5 years: 0.08 x 1.08^5 / (1.08^5 - 1) = 0.08 x 1.469328 / 0.469328
    # = 0.250456 (the textbook annuity factor).
    assert cost.capital_recovery_factor(0.0, 4) == pytest.approx(0.25)
    assert cost.capital_recovery_factor(0.08, 5) == pytest.approx(0.250456, abs=1e-6)


def test_owned_hourly_cost_by_hand() -> None:
    # 250,000 CNY over 5 years at 8%: 250,000 x 0.250456 = 62,614.1 a year, over 8,766 h = 7.1428.
    # Energy: 1 kW x PUE 1.3 x 0.6 CNY/kWh = 0.78 per hour. Hosting: 10,000 / 8,766 = 1.1408.
    hw = OwnedHardware(250_000, 5, 0.08, 1000, 1.3, 0.6, "CNY", hosting_per_year=10_000)
    parts = hw.hourly()
    assert parts["capital"] == pytest.approx(7.1428, abs=1e-4)
    assert parts["energy"] == pytest.approx(0.78)
    assert parts["hosting"] == pytest.approx(1.1408, abs=1e-4)
    assert parts["total"] == pytest.approx(9.0636, abs=1e-4)
    # Working half the hours doubles capital and hosting per working hour, not energy.
    half = OwnedHardware(250_000, 5, 0.08, 1000, 1.3, 0.6, "CNY", 10_000, utilisation=0.5).hourly()
    assert half["capital"] == pytest.approx(2 * parts["capital"])
    assert half["energy"] == pytest.approx(parts["energy"])


def test_beijing_cap_binds_above_ten_million() -> None:
    # Beijing: 20% of the contract, at most 2M yuan per firm per year. 2M / 20% = 10M. It ran
    # 2023-09-01 to 2025-12-31: a job starting inside that window.
    terms = cost.terms_from_programme(
        load_programme("beijing-2023"), start=datetime.date(2024, 6, 1)
    )
    small = cost.apply_subsidy(1_000_000, terms)
    assert (small.amount, small.net, small.cap_binds) == (200_000, 800_000, False)
    big = cost.apply_subsidy(20_000_000, terms)
    assert (big.amount, big.net, big.cap_binds) == (2_000_000, 18_000_000, True)
    assert big.binds_above == pytest.approx(10_000_000)


def test_shanghai_small_firm_window_blends_rates() -> None:
    # 100% for the first 12 months (8,766 h), then 30%. A two-year job: half at each rate, 65%.
    terms = cost.terms_from_programme(load_programme("shanghai-2025-compute"), small_firm=True)
    two_years = 2 * 365.25 * 24
    outcome = cost.apply_subsidy(1_000_000, terms, wall_hours=two_years)
    assert outcome.rate_before_caps == pytest.approx(0.65)
    assert outcome.amount == pytest.approx(650_000)
    # A six-month job sits wholly inside the window: all of it is paid.
    assert cost.apply_subsidy(1_000_000, terms, wall_hours=4383).net == pytest.approx(0)
    with pytest.raises(UserError, match="duration"):
        cost.apply_subsidy(1_000_000, terms)


def test_programme_caps_convert_to_the_job_currency() -> None:
    # 2M yuan at 7.2 yuan per dollar is 277,777.78 dollars.
    terms = cost.terms_from_programme(
        load_programme("beijing-2023"), to_job_currency=1 / 7.2, job_currency="USD"
    )
    assert terms.cap == pytest.approx(2_000_000 / 7.2)
    assert any("= 277,778 USD" in a.value for a in terms.assumptions)


def test_unknown_caps_are_not_applied_and_say_so() -> None:
    terms = cost.terms_from_programme(load_programme("shanghai-2025-compute"))
    assert terms.cap_per_contract == math.inf
    assert terms.cap == pytest.approx(6e8)  # only the pool bounds one firm
    not_applied = [a for a in terms.assumptions if a.basis is Basis.NOT_APPLIED]
    assert {"cap per contract", "cap per firm per year"} <= {a.name for a in not_applied}


def test_late_subsidy_is_worth_less_today() -> None:
    # 100,000 paid 12 months late at 10% a year is worth 100,000 / 1.1 = 90,909.09 today.
    terms = SubsidyTerms(0.2, "test", "base", lag_months=12)
    outcome = cost.apply_subsidy(500_000, terms, cost_of_capital=0.10)
    assert outcome.present_value == pytest.approx(90_909.09, abs=0.01)


def test_train_job_by_hand_with_subsidy() -> None:
    # 7B on 2T tokens: 6 x 7e9 x 2e12 = 8.4e22 FLOPs. At 400 TFLOP/s x 90% on 64 devices:
    # 8.4e22 / (4e14 x 0.9) = 2.3333e8 device-seconds = 64,814.8 device-hours, 1,012.7 h wall.
    # At 2.5/h: 162,037.04 gross; 30% off: 113,425.93 net, 1.75 per device-hour.
    est = cost.estimate(
        TrainJob(7e9, 2e12),
        rent(2.5, "USD"),
        given_tflops(400),
        Cluster(64, 0.9),
        SubsidyTerms(0.3, "test", "base"),
    )
    assert est.device_hours == pytest.approx(64_814.81, abs=0.01)
    assert est.wall_hours == pytest.approx(1_012.73, abs=0.01)
    assert est.gross == pytest.approx(162_037.04, abs=0.01)
    assert est.net == pytest.approx(113_425.93, abs=0.01)
    assert est.effective_price == pytest.approx(1.75)
    # Per useful PFLOP-hour: 113,425.93 / (8.4e22 / 3.6e18) = 4.861.
    assert est.net_per_pflop_hour == pytest.approx(4.8611, abs=1e-4)


def test_attention_term_follows_palm_appendix_b() -> None:
    # GPT-3 175B: L = 96, d_model = 12,288, T = 2,048. 12·L·H·Q·T = 12 x 96 x 12,288 x 2,048
    # = 2.899e10 per token against 6N = 1.05e12: 2.8% more.
    job = TrainJob(175e9, 300e9, layers=96, attention_width=12288, seq_len=2048)
    assert job.flops_per_token == pytest.approx(1.05e12 + 2.8991e10, rel=1e-4)
    with pytest.raises(UserError, match="needs layers"):
        TrainJob(7e9, 1e12, layers=32)


def test_serve_job_by_flops_and_by_tokens() -> None:
    # 1e9 tokens of a 7B model: 2 x 7e9 x 1e9 = 1.4e19 FLOPs; at 100 TFLOP/s, 1.4e5 s = 38.89 h.
    est = cost.estimate(ServeJob(1e9, 7e9), rent(10.0), given_tflops(100))
    assert est.device_hours == pytest.approx(38.889, abs=1e-3)
    assert est.net_per_million_tokens == pytest.approx(388.89 / 1000, abs=1e-5)
    # At 2,500 tokens/s: 4e5 s = 111.11 h, 1,111.11 at 10/h, 1.111 per million tokens.
    by_tokens = cost.estimate(ServeJob(1e9), rent(10.0), given_tokens_per_s(2500))
    assert by_tokens.net_per_million_tokens == pytest.approx(1.1111, abs=1e-4)
    with pytest.raises(UserError) as caught:
        cost.estimate(ServeJob(1e9), rent(10.0), given_tflops(100))
    assert "give --params" in caught.value.say(flag_of)


def test_contract_and_hours_say_what_they_buy() -> None:
    # 1M yuan at 20 yuan/h buys 50,000 device-hours; at 300 TFLOP/s that is
    # 50,000 x 3,600 x 3e14 = 5.4e22 FLOPs = 625 PFLOP-days.
    est = cost.estimate(ContractJob(1_000_000), rent(20.0), given_tflops(300))
    assert est.device_hours == pytest.approx(50_000)
    assert est.pflop_days == pytest.approx(625.0)
    hours = cost.estimate(HoursJob(50_000), rent(20.0), given_tflops(300))
    assert hours.gross == pytest.approx(1_000_000)
    assert hours.flops == pytest.approx(est.flops)


def test_owned_build_subsidy_lowers_the_price() -> None:
    # 10% off 8 devices' capex of 200,000 each: 160,000 off, 180,000 each after.
    hw = OwnedHardware(200_000, 4, 0.0, 0.0, 1.0, 0.0, "CNY")
    terms = SubsidyTerms(0.1, "test", "build")
    build = cost.build_subsidy(hw, terms, devices=8)
    assert build.outcome.amount == pytest.approx(160_000)
    # 180,000 / 4 years / 8,766 h = 5.1335 per hour, against 5.7039 before.
    assert build.price.amount == pytest.approx(180_000 / 4 / 8766)
    est = cost.estimate(HoursJob(1000), HourlyPrice.from_owned(hw), build=build)
    assert est.subsidy is not None
    assert est.subsidy.rate_before_caps == pytest.approx(0.1)
    assert est.net == pytest.approx(1000 * 180_000 / 4 / 8766)


def test_reach_of_a_cap_and_of_a_pool() -> None:
    # Beijing: a firm's 2M cap at 20% supports a 10M contract; at 20 yuan/h, 500,000 device-hours;
    # at 300 TFLOP/s, 500,000 x 3,600 x 3e14 / 8.64e19 = 6,250 PFLOP-days.
    r = cost.reach(2e6, "cap", 0.2, rent(20.0), given_tflops(300))
    assert (r.contract_value, r.firm_pays, r.device_hours) == (1e7, 8e6, 5e5)
    assert r.pflop_days == pytest.approx(6250)
    # Training runs of 7B x 2T (8.4e22 FLOPs): 5.4e23 / 8.4e22 = 6.43 runs.
    r = cost.reach(2e6, "cap", 0.2, rent(20.0), given_tflops(300), train=TrainJob(7e9, 2e12))
    assert r.training_runs == pytest.approx(5.4e23 / 8.4e22)
    # Hangzhou pool 250M at 30%, 8M cap per firm: 10M contracts get 3M each (83.3 firms);
    # 40M contracts hit the cap, 8M each (31.25 firms).
    pool = cost.reach(2.5e8, "pool", 0.3, rent(20.0), contract_size=1e7, cap_per_firm=8e6)
    assert pool.firms_covered == pytest.approx(83.333, abs=1e-3)
    pool = cost.reach(2.5e8, "pool", 0.3, rent(20.0), contract_size=4e7, cap_per_firm=8e6)
    assert pool.firms_covered == pytest.approx(31.25)


def test_compare_ranks_by_measured_work_not_peak() -> None:
    # A has the higher peak (1,000 TFLOP/s) but sustains 300 at 20/h: an hour does 0.3
    # PFLOP-hours, so 66.67 per PFLOP-hour. B (peak 320) sustains 200 at 10/h with 30% off:
    # 7 / 0.2 = 35 per PFLOP-hour. B is cheaper per unit of work.
    a = Option("A", rent(20.0), from_mfu(0.3, 1000, "vendor"))
    b = Option("B", rent(10.0), from_mfu(0.625, 320, "vendor"), SubsidyTerms(0.3, "t", "d"))
    ranked = cost.compare(TrainJob(7e9, 1e12), [a, b])
    assert [e.label for e in ranked] == ["B", "A"]
    assert ranked[0].net_per_pflop_hour == pytest.approx(35.0)
    assert ranked[1].net_per_pflop_hour == pytest.approx(20 / 0.3)
    with pytest.raises(UserError, match="mix"):
        cost.compare(TrainJob(7e9, 1e12), [a, Option("C", rent(1.0), given_tokens_per_s(10))])


def test_estimate_and_sweep_agree() -> None:
    job = TrainJob(7e9, 2e12)
    # Gross 162,037 x 30% = 48,611 > the 40,000 cap: the cap binds in both.
    terms = SubsidyTerms(0.3, "t", "b", cap_per_firm_year=40_000)
    est = cost.estimate(job, rent(2.5), given_tflops(400), Cluster(64, 0.9), terms)
    frame = sweep(
        work=job.flops,
        per_second=400e12,
        price_per_hour=[2.0, 2.5],
        devices=64,
        scaling_efficiency=0.9,
        rate=0.3,
        cap=40_000,
    )
    row = frame[frame["price_per_hour"] == 2.5].iloc[0]
    assert row["net"] == pytest.approx(est.net)
    assert row["wall_hours"] == pytest.approx(est.wall_hours)
    assert bool(row["cap_binds"]) is est.subsidy.cap_binds is True


def test_throughput_from_a_run(run_file: Path) -> None:
    tp = from_run_file(run_file, "gemm-bf16")
    assert tp.per_second == pytest.approx(4e14)
    assert tp.basis is Basis.MEASURED
    assert "measured: run" in tp.source and "gemm-bf16" in tp.source
    tokens = from_run_file(run_file, "lm-bf16", WorkUnit.TOKENS)
    assert tokens.per_second == pytest.approx(2000)
    with pytest.raises(UserError, match="counts matmul items, not tokens"):
        from_run_file(run_file, "gemm-bf16", WorkUnit.TOKENS)
    with pytest.raises(UserError, match="give --workload"):
        from_run_file(run_file)
    with pytest.raises(UserError, match="was skipped: fp8 not supported"):
        from_run_file(run_file, "conv-fp8")


def test_invalid_verdict_is_refused_unless_forced(run_file: Path) -> None:
    with pytest.raises(UserError, match=r"invalid: spread too wide") as caught:
        from_run_file(run_file, "noisy-bf16")
    assert "pass --force to cost it anyway" in caught.value.say(flag_of)
    forced = from_run_file(run_file, "noisy-bf16", force=True)
    assert "FORCED" in forced.source


def test_scaling_efficiency_must_be_a_share() -> None:
    with pytest.raises(UserError, match="scaling efficiency"):
        Cluster(8, 1.5)


def test_vectorised_core_matches_scalar_answers() -> None:
    rates = np.array([0.0, 0.5, 1.0])
    out = cost.evaluate_hours(100.0, 100.0, 10.0, rates, cap=300.0)
    np.testing.assert_allclose(out["subsidy"], [0.0, 300.0, 300.0])
    np.testing.assert_allclose(out["net"], [1000.0, 700.0, 700.0])


# --------------------------------------------------------------------------------------------
# Published training runs


def test_gpt3_training_compute() -> None:
    # Brown et al. 2020, "Language Models are Few-Shot Learners", table D.1
    # (https://arxiv.org/abs/2005.14165): GPT-3 175B on 300B tokens took 3.14e23 FLOPs, which
    # the paper gives as 3.64e3 PFLOP/s-days. 6ND = 6 x 175e9 x 300e9 = 3.15e23.
    job = TrainJob(175e9, 300e9)
    assert job.flops == pytest.approx(3.15e23)
    assert job.flops == pytest.approx(3.14e23, rel=0.01)
    assert pytest.approx(3.64e3, rel=0.01) == 3.14e23 / PFLOP_DAY


def test_llama_65b_gpu_hours_and_days() -> None:
    # Touvron et al. 2023, "LLaMA: Open and Efficient Foundation Language Models"
    # (https://arxiv.org/abs/2302.13971), section 2.4: "our code processes around 380
    # tokens/sec/GPU on 2048 A100 GPU with 80GB of RAM. This means that training over our
    # dataset containing 1.4T tokens takes approximately 21 days"; table 15: 1,022,362 GPU-hours
    # for LLaMA-65B (figures as quoted at https://git.luolix.top/mjkpolo/llm-analysis/blob/main/
    # examples/llama). The reported tokens/s is per GPU at cluster scale: efficiency 1.
    est = cost.estimate(
        TrainJob(65.2e9, 1.4e12), rent(1.0, "USD"), given_tokens_per_s(380), Cluster(2048, 1.0)
    )
    assert est.device_hours == pytest.approx(1_022_362, rel=0.002)
    assert est.wall_hours / 24 == pytest.approx(21, rel=0.02)


def test_llama2_gpu_hours_imply_a_plausible_mfu() -> None:
    # Llama 2 model card (https://huggingface.co/meta-llama/Llama-2-7b, as quoted in the card
    # copy at https://huggingface.co/nikita-sh/LLMLingua__NousResearch-Llama-2-7b-inf/commit/
    # 4f5335b80390f7ff1d3ba01f55fab3f1fc99f4aa): 7B took 184,320 and 70B 1,720,320 A100-80GB
    # hours, on 2T tokens. Those hours mean an MFU of 39% (7B, 6.74e9 parameters) and 43% (70B,
    # 68.98e9) of the A100's 312 TFLOP/s bf16 peak (vendor), in line with the 40-50% reported
    # for other runs of the time (OPT: 147/312 = 47%). The model at those MFUs gives back the
    # card's hours within 1%.
    seven = cost.estimate(TrainJob(6.74e9, 2e12), rent(1.0), from_mfu(0.39, 312, "vendor"))
    assert seven.device_hours == pytest.approx(184_320, rel=0.01)
    seventy = cost.estimate(TrainJob(68.98e9, 2e12), rent(1.0), from_mfu(0.43, 312, "vendor"))
    assert seventy.device_hours == pytest.approx(1_720_320, rel=0.01)


def test_mpt_7b_days_and_dollars() -> None:
    # MosaicML, "Introducing MPT-7B" (https://www.databricks.com/blog/mpt-7b): 1T tokens "in
    # 9.5 days ... at a cost of ~$200k"; the MPT-7B model card: 440 A100-40GB GPUs. That is
    # 440 x 9.5 x 24 = 100,320 GPU-hours, so ~$1.99 per GPU-hour, and 2,769 tokens/s per GPU.
    tokens_per_s = 1e12 / (440 * 9.5 * 86400)
    assert tokens_per_s == pytest.approx(2769, abs=1)
    est = cost.estimate(
        TrainJob(6.7e9, 1e12), rent(2.0, "USD"), given_tokens_per_s(2769), Cluster(440, 1.0)
    )
    assert est.wall_hours / 24 == pytest.approx(9.5, rel=0.001)
    assert est.gross == pytest.approx(200_000, rel=0.01)


def test_opt_175b_utilisation() -> None:
    # Zhang et al. 2022, "OPT: Open Pre-trained Transformer Language Models"
    # (https://arxiv.org/abs/2205.01068): 992 A100-80GB GPUs reaching up to 147 TFLOP/s per GPU
    # on ~180B tokens. 6ND / (147e12 x 992) = 1.89e23 / 1.458e17 = 1.296e6 s = 15.0 days of pure
    # compute; 147 / 312 = 47% of the A100's bf16 peak.
    est = cost.estimate(TrainJob(175e9, 180e9), rent(1.0), given_tflops(147), Cluster(992, 1.0))
    assert est.wall_hours / 24 == pytest.approx(15.0, abs=0.05)
    assert from_mfu(147 / 312, 312, "v").per_second == pytest.approx(147e12)


def test_subsidy_spend_kinds_come_from_the_programme() -> None:
    terms = cost.terms_from_programme(
        load_programme("shanghai-2025-model"), spend=Spend.MODEL_SERVICES
    )
    assert (terms.rate, terms.cap_per_contract) == (0.5, 5e6)


def test_a_run_of_another_device_is_not_priced_as_the_profile(run_file: Path) -> None:
    import dataclasses

    from subsidybench.cost import throughput
    from subsidybench.results.record import load_run

    run = dataclasses.replace(load_run(run_file), profile="cpu-generic")
    with pytest.raises(
        UserError, match=r"measured on Test GPU \(profile cpu-generic\), not on h100-sxm"
    ):
        throughput.from_run(run, "r.json", "gemm-bf16", profile="h100-sxm")
    forced = throughput.from_run(run, "r.json", "gemm-bf16", profile="h100-sxm", force=True)
    assert forced.per_second > 0
    same = throughput.from_run(run, "r.json", "gemm-bf16", profile="cpu-generic")
    assert same.per_second == forced.per_second


def test_a_job_start_not_given_is_the_default_not_given_by_hand() -> None:
    base = Request(
        contract=np.array([40e6]), currency="CNY", price=np.array([20.0]), subsidy="hangzhou-2024"
    )
    [start] = [a for a in resolve(base).assumptions if a.name == "job start"]
    assert start.basis is Basis.DEFAULT
    assert start.value == str(datetime.date.today())
    assert start.source.startswith("not given: today")
    given = dataclasses.replace(base, start=datetime.date(2025, 3, 1))
    [start] = [a for a in resolve(given).assumptions if a.name == "job start"]
    assert start.basis is Basis.GIVEN and start.value == "2025-03-01"
