"""`subsidybench cost`: what a job costs on a device, before and after a subsidy, and why.

The command parses its flags into one Request (cost.request), resolves it (cost.scenario: the
same resolver `--compare` and `report` use), asks the model (cost.evaluate) and renders the
answer beside every assumption it used (report.cost_answer). It never imports torch: a finance
user runs it anywhere, in well under a second. The cost modules and pandas are imported inside
the command, so `subsidybench --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from subsidybench.cli.options import ProfilesDir
from subsidybench.errors import UserError

app = typer.Typer(help="Cost compute jobs before and after a subsidy.", no_args_is_help=True)

JOB = "Job"
WORK = "Throughput"
SLO = "Serving SLO (with --serve and a serving --run)"
DEVICE = "Device and price"
SUBSIDY = "Subsidy"
OUTPUT = "Output"
_SWEEP = " A list or a:b:step sweeps; a~b (uniform) or a~mode~b (triangular) is uncertain."
RANGES = "Ranges"


def opt(flag: str, help: str, panel: str, default: Any = None) -> Any:
    """A typer option in this command's help panels."""
    return typer.Option(default, flag, help=help, rich_help_panel=panel)


# Options typed Path are declared here (ruff's B008 takes a call in a signature for mutable).
COMPARE_OPTION = opt(
    "--compare",
    "A TOML file of [[option]] tables (device, price, throughput, programme): cost the "
    "job on each and rank them by net cost per unit of work.",
    JOB,
)
RUN_OPTION = opt(
    "--run",
    "A run result (JSON) to take the measured rate from; repeat it with more runs of the same"
    " workload to put their spread into the range (the first run gives the point figure).",
    WORK,
)
SCALING_FROM_OPTION = opt(
    "--scaling-from",
    "A distributed run result: the scaling efficiency it measured at --devices ranks "
    "(or the nearest size, labelled so).",
    DEVICE,
)
JSON_OPTION = opt("--json", "Also write the answer as JSON.", OUTPUT)
CSV_OPTION = opt("--csv", "Also write the answer (every sweep row) as CSV.", OUTPUT)
XLSX_OPTION = opt(
    "--xlsx", "Also write a live Excel workbook: formulas from input cells (one answer).", OUTPUT
)


@app.command("cost", no_args_is_help=True)
def cost_command(
    train: str | None = opt(
        "--train",
        "Train PARAMS:TOKENS, e.g. 7e9:2e12. PARAMS are the parameters each token passes "
        "through (a mixture of experts: the activated ones), which drive the FLOPs.",
        JOB,
    ),
    total_params: float | None = opt(
        "--total-params", "A mixture's total parameters: recorded, not used for FLOPs.", JOB
    ),
    layers: int | None = opt("--layers", "Layers, for the attention FLOPs term.", JOB),
    attention_width: float | None = opt(
        "--attention-width", "Heads x head width (d_model in most models), attention term.", JOB
    ),
    seq_len: int | None = opt("--seq-len", "Training sequence length, attention term.", JOB),
    serve: float | None = opt(
        "--serve",
        "Serve this many inference tokens; with a --run that has a serving curve, output "
        "tokens at its goodput point, the whole curve shown.",
        JOB,
    ),
    params: float | None = opt("--params", "Model parameters, serving at a FLOP rate (2N).", JOB),
    hours: str | None = opt(
        "--hours",
        "Device-hours to buy; with --train, the device-hours the training took (the "
        "throughput and MFU they imply are printed)." + _SWEEP,
        JOB,
    ),
    contract: str | None = opt(
        "--contract",
        "A contract value, in --currency (or --in); needs no price, which only adds the"
        " device-hours it buys." + _SWEEP,
        JOB,
    ),
    reach: str | None = opt(
        "--reach",
        "How far a subsidy goes: 'cap', 'pool' or an amount. With --train, counts runs.",
        JOB,
    ),
    compare: Path | None = COMPARE_OPTION,
    contract_size: float | None = opt(
        "--contract-size", "With --reach: firms covered at this contract size each.", JOB
    ),
    run: list[Path] | None = RUN_OPTION,
    workload: str | None = opt("--workload", "Which workload of --run (its id).", WORK),
    metric: str = opt("--metric", "From --run: its FLOP rate or its token rate.", WORK, "flops"),
    force: bool = opt("--force", "Cost a result whose verdict is invalid (marked).", WORK, False),
    estimate_on: str | None = opt(
        "--estimate-on",
        "Cost on this device profile, the --run rate scaled to it by the roofline (an "
        "estimate, labelled so, with its basis).",
        WORK,
    ),
    tokens_per_user: float | None = opt(
        "--tokens-per-user", "Serving SLO: at least this many tokens/s per user.", SLO
    ),
    ttft_ms: float | None = opt("--ttft-ms", "Serving SLO: time to first token, ms.", SLO),
    tpot_ms: float | None = opt("--tpot-ms", "Serving SLO: time per output token, ms.", SLO),
    slo_percentile: int | None = opt(
        "--slo-percentile", "Percentile the SLO holds at: 50, 90 or 99 (default 99).", SLO
    ),
    tflops: str | None = opt(
        "--tflops", "Sustained model TFLOP/s per device (6N per token)." + _SWEEP, WORK
    ),
    hardware_tflops: float | None = opt(
        "--hardware-tflops",
        "Sustained hardware TFLOP/s per device, counting recomputation (as papers quote "
        "it); converted to model FLOPs with --recomputation.",
        WORK,
    ),
    recomputation: str | None = opt(
        "--recomputation", "How --hardware-tflops counted: full (8N per token) or none.", WORK
    ),
    tokens_per_s: str | None = opt(
        "--tokens-per-s", "Sustained tokens/s per device for this job's model." + _SWEEP, WORK
    ),
    mfu: str | None = opt(
        "--mfu", "Model-FLOPs utilisation (0-1] of the dense --dtype peak." + _SWEEP, WORK
    ),
    peak_tflops: float | None = opt("--peak-tflops", "Peak TFLOP/s (default: profile).", WORK),
    dtype: str = opt("--dtype", "The peak MFU is against (papers: bf16).", WORK, "bf16"),
    profile: str | None = opt("--profile", "Device profile: peak, rent, power, origin.", DEVICE),
    profiles_dir: ProfilesDir = None,
    domestic: bool | None = typer.Option(
        None,
        "--domestic/--not-domestic",
        help="Whether the chip is domestic (default: the profile's, else not).",
        rich_help_panel=DEVICE,
    ),
    devices: str | None = opt("--devices", "Devices working together." + _SWEEP, DEVICE),
    duration: float | None = opt(
        "--duration", "Days a job given in hours or money runs (instead of --devices).", DEVICE
    ),
    scaling_efficiency: str | None = opt(
        "--scaling-efficiency",
        "Share (0-1] of n x one device's rate a cluster reaches, where a per-device rate "
        "is scaled to more than one device." + _SWEEP,
        DEVICE,
    ),
    scaling_from: Path | None = SCALING_FROM_OPTION,
    scaling_workload: str | None = opt(
        "--scaling-workload", "Which series of --scaling-from.", DEVICE
    ),
    price: str | None = opt("--price", "Rent per device-hour." + _SWEEP, DEVICE),
    market: str | None = opt(
        "--market",
        "Take the --profile's rent in this market: cn (quoted in CNY), us (in USD). Default:"
        " on-demand first, then the newest, in any market; the answer names the rent taken"
        " and lists the others.",
        DEVICE,
    ),
    rent_id: str | None = opt(
        "--rent", "Take this rent of the --profile, by the id the answer lists.", DEVICE
    ),
    currency: str | None = opt(
        "--currency", "Currency of --price, of owned money, or of --contract.", DEVICE
    ),
    report_currency: str | None = opt("--in", "Currency to answer in.", DEVICE),
    fx: str | None = opt(
        "--fx",
        "Exchange rate as profiles/fx states it (CNY per USD); default: dated. a~b: a range.",
        DEVICE,
    ),
    capex: str | None = opt("--capex", "Owned: purchase price per device." + _SWEEP, DEVICE),
    lifetime: str | None = opt("--lifetime", "Owned: years of the capex." + _SWEEP, DEVICE),
    cost_of_capital: str | None = opt(
        "--cost-of-capital", "Yearly cost of money [0, 1]; discounts late money." + _SWEEP, DEVICE
    ),
    power_w: str | None = opt("--power-w", "Owned: average watts per device." + _SWEEP, DEVICE),
    pue: str | None = opt("--pue", "Owned: power usage effectiveness (>= 1)." + _SWEEP, DEVICE),
    tariff: str | None = opt("--tariff", "Owned: electricity price per kWh." + _SWEEP, DEVICE),
    hosting: str | None = opt("--hosting", "Owned: hosting per device-year." + _SWEEP, DEVICE),
    utilisation: str | None = opt(
        "--utilisation", "Owned: share (0-1] of hours worked (default 1)." + _SWEEP, DEVICE
    ),
    subsidy: str | None = opt("--subsidy", "Programme ('subsidybench subsidies list').", SUBSIDY),
    power_subsidy: str | None = opt(
        "--power-subsidy",
        "Owned: a programme that pays part of the power bill (e.g. gansu-2025-electricity).",
        SUBSIDY,
    ),
    rate: str | None = opt("--rate", "Subsidy rate [0, 1], replacing any other." + _SWEEP, SUBSIDY),
    cap: float | None = opt("--cap", "Cap on --rate without a programme (0: none).", SUBSIDY),
    small_firm: bool = opt("--small-firm", "The firm gets a small-firm rate.", SUBSIDY, False),
    spend: str | None = opt(
        "--spend", "compute-rent (rent), compute-build (owned), model-services, datasets.", SUBSIDY
    ),
    json_path: Path | None = JSON_OPTION,
    csv_path: Path | None = CSV_OPTION,
    rows: int = opt("--rows", "Sweep rows to print (all go to files).", OUTPUT, 40),
    max_scenarios: int | None = opt(
        "--max-scenarios", "Largest sweep grid (default 1,000,000).", OUTPUT
    ),
    seed: int | None = opt("--seed", "Seed of the ranges' draws (default fixed, printed).", RANGES),
    draws: int | None = opt("--draws", "Monte Carlo draws per range (default 100,000).", RANGES),
    lang: str | None = opt("--lang", "en or zh (default: SUBSIDYBENCH_LANG, else en).", OUTPUT),
    units: str | None = opt(
        "--units", "Amounts: plain, wan (万), yi (亿), auto (zh default).", OUTPUT
    ),
    xlsx_path: Path | None = XLSX_OPTION,
) -> None:
    """Cost a job on a device before and after a subsidy, or say how far a subsidy goes.

    A job is --train, --serve, --hours or --contract; --reach asks how far a subsidy goes.
    Any flag given a list or range (--rate 0.1:1.0:0.1) makes a sweep over every combination.
    """
    from subsidybench.cost import evaluate, serving
    from subsidybench.cost.flags import flag_values, fx_value, train_pair
    from subsidybench.cost.options import option_scenarios
    from subsidybench.cost.request import Request
    from subsidybench.cost.scenario import resolve
    from subsidybench.cost.uncertainty import UNCERTAIN, ranges
    from subsidybench.report import cost_answer as show
    from subsidybench.report import serving_view
    from subsidybench.report.i18n import messages

    needs_openpyxl(xlsx_path)
    m = messages(lang, units)
    uncertain: dict[str, Any] = {}

    def values(text: str | None, flag: str) -> Any:
        return flag_values(text, flag, uncertain, UNCERTAIN)

    request = Request(
        train=None if train is None else train_pair(train),
        total_params=total_params,
        layers=layers,
        attention_width=attention_width,
        seq_len=seq_len,
        serve=serve,
        params=params,
        hours=values(hours, "--hours"),
        contract=values(contract, "--contract"),
        reach=reach,
        contract_size=contract_size,
        run=run[0] if run else None,
        also_runs=tuple(run[1:]) if run else (),
        workload=workload,
        metric=metric,
        force=force,
        estimate_on=estimate_on,
        tokens_per_user=tokens_per_user,
        ttft_ms=ttft_ms,
        tpot_ms=tpot_ms,
        slo_percentile=slo_percentile,
        tflops=values(tflops, "--tflops"),
        hardware_tflops=hardware_tflops,
        recomputation=recomputation,
        tokens_per_s=values(tokens_per_s, "--tokens-per-s"),
        mfu=values(mfu, "--mfu"),
        peak_tflops=peak_tflops,
        dtype=dtype,
        profile=profile,
        domestic=domestic,
        devices=values(devices, "--devices"),
        duration_days=duration,
        scaling_efficiency=values(scaling_efficiency, "--scaling-efficiency"),
        scaling_from=scaling_from,
        scaling_workload=scaling_workload,
        price=values(price, "--price"),
        currency=currency,
        report_currency=report_currency,
        market=market,
        rent_id=rent_id,
        fx=None if fx is None else fx_value(fx, uncertain),
        capex=values(capex, "--capex"),
        lifetime=values(lifetime, "--lifetime"),
        cost_of_capital=values(cost_of_capital, "--cost-of-capital"),
        power_w=values(power_w, "--power-w"),
        pue=values(pue, "--pue"),
        tariff=values(tariff, "--tariff"),
        hosting=values(hosting, "--hosting"),
        utilisation=values(utilisation, "--utilisation"),
        subsidy=subsidy,
        power_subsidy=power_subsidy,
        rate=values(rate, "--rate"),
        cap=cap,
        small_firm=small_firm,
        spend=spend,
        profiles_dirs=tuple(profiles_dir or ()),
        names={"duration_days": "--duration", "report_currency": "--in"},
        max_scenarios=max_scenarios,
        uncertain=uncertain,
        seed=seed,
        draws=draws,
    )
    # Every file asked for is written before anything is printed: a reader that stops early
    # (`| head`) never costs a file (cli.output).
    if compare is not None:
        no_xlsx(xlsx_path, "a ranking")
        ranked = evaluate.rank(option_scenarios(request, compare))
        doc = {"kind": "compare", "ranked": [e.to_dict() for e in ranked]}
        frame = None
        if csv_path is not None:
            import pandas as pd

            frame = pd.DataFrame([show.flat(e.to_dict()) for e in ranked])
        announce(show.write(json_path, csv_path, doc, frame))
        show.print_compare(ranked, m)
        return
    scenario = resolve(request)
    for line in scenario.warnings:
        typer.echo(f"warning: {line}", err=True)
    picked = serving.serving_pick(scenario)
    if scenario.sweeping:
        no_xlsx(xlsx_path, "a sweep")
        frame, notes = evaluate.grid(scenario)
        notes += picked.assumptions() if picked is not None else []
        assert scenario.currency is not None
        doc = {"kind": "sweep", "currency": scenario.currency}
        doc["assumptions"] = [a.to_dict() for a in notes]
        announce(show.write(json_path, csv_path, doc, frame))
        show.print_sweep(frame, scenario.sweeping, scenario.currency, rows, notes, m)
        return
    if picked is not None:
        no_xlsx(xlsx_path, "a serving curve")
        served = serving.answer(scenario)
        curve = serving_view.curve_frame(served) if csv_path is not None else None
        written = show.write(json_path, None, served.to_dict(), None)
        announce(written + show.write(None, csv_path, {}, curve))
        serving_view.print_serving(served, rows)
        return
    answer = evaluate.one(scenario)
    spread = ranges(scenario)
    if scenario.kind == "reach":
        no_xlsx(xlsx_path, "--reach")
        doc = {"kind": "reach", **answer.to_dict()}
        if spread is not None:
            doc["ranges"] = spread.to_dict()
        announce(show.write(json_path, csv_path, doc, None))
        show.print_reach(answer, m)  # type: ignore[arg-type]
        show.print_ranges(spread, m)
        return
    doc = {"kind": "estimate", **answer.to_dict()}
    if spread is not None:
        doc["ranges"] = spread.to_dict()
    written = show.write(json_path, csv_path, doc, None)
    if xlsx_path is not None:
        from subsidybench.report.live_workbook import write_answer_xlsx

        write_answer_xlsx(scenario, answer, xlsx_path, m)
        written.append(xlsx_path)
    announce(written)
    show.print_estimate(answer, m)  # type: ignore[arg-type]
    show.print_ranges(spread, m)


def announce(paths: list[Path]) -> None:
    from subsidybench.cli.output import wrote

    for path in paths:
        wrote(path)


def no_xlsx(path: Path | None, what: str) -> None:
    """--xlsx is one answer's live workbook: refused, not dropped, where there is none."""
    if path is not None:
        raise UserError(f"--xlsx writes one answer's live workbook; {what} has none: use --csv")


def needs_openpyxl(path: Path | None) -> None:
    if path is None:
        return
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        raise UserError(
            "--xlsx needs openpyxl, which is not installed: pip install 'subsidybench[report]'"
        ) from None
