"""`subsidybench cost`: what a job costs on a device, before and after a subsidy, and why.

The command parses flags, fills in what a device profile knows (peak, rent, power, origin), calls
the cost model (subsidybench.cost.model, subsidybench.cost.sweep) and prints the answer beside every
assumption it used. It never imports torch: a finance user runs it anywhere, in well under a
second. The model and pandas are imported inside the command, so `subsidybench --help` stays fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from subsidybench.cli.options import ProfilesDir
from subsidybench.errors import UserError

if TYPE_CHECKING:
    import numpy as np

    from subsidybench.cost.model import Estimate, HourlyPrice, Job, Reach
    from subsidybench.cost.throughput import Throughput
    from subsidybench.provenance import Assumption

app = typer.Typer(help="Cost compute jobs before and after a subsidy.", no_args_is_help=True)

JOB = "Job"
WORK = "Throughput"
DEVICE = "Device and price"
SUBSIDY = "Subsidy"
OUTPUT = "Output"

_SWEEPABLE = "A list or range sweeps."


@dataclass(frozen=True, slots=True)
class ProfileInputs:
    """What a device profile supplies to the cost model, with where each figure comes from."""

    id: str
    label: str
    domestic: bool
    peak_tflops: float | None
    peak_source: str
    rent: tuple[float, str, str, str] | None
    """(amount, currency, basis, source) of the profile's rent per device-hour."""
    power_w: float | None
    power_source: str


def load_profile_inputs(
    name: str, extra_dirs: list[Path], dtype: str, currency: str | None = None
) -> ProfileInputs:
    """Read the figures the cost model needs from a device profile (catalogue.profiles).

    `currency` is the programme's: its rents come first, by the rule of `default_rent`."""
    try:
        from subsidybench.catalogue.profiles import load_profile
    except ImportError:
        raise UserError(
            "--profile needs subsidybench.catalogue.profiles, missing from this install"
        ) from None
    from subsidybench.dtypes import DType

    if dtype not in {d.value for d in DType}:
        raise UserError(f"--dtype: {dtype!r} is not one of {', '.join(d.value for d in DType)}")
    profile = load_profile(name, extra_dirs=tuple(extra_dirs))
    peak = profile.peak(DType(dtype))
    peak_tflops = None
    peak_source = ""
    if peak is not None and peak.value is not None and str(peak.basis) != "unknown":
        peak_tflops = float(peak.value)
        peak_source = f"{profile.id} {dtype} peak, {peak.basis}: {peak.source}"
    rent = None
    # rent_per_hour(currency) is None when no rent is in that currency: then any currency.
    point = (profile.rent_per_hour(currency) if currency else None) or profile.rent_per_hour()
    if point is not None and point.amount is not None:
        rent = (
            float(point.amount),
            str(point.currency),
            str(point.basis),
            f"{profile.id} rent ({point.date}): {point.source}",
        )
    power = getattr(profile, "power_w", None)
    power_w = None
    power_source = ""
    if power is not None and power.value is not None and str(power.basis) != "unknown":
        power_w = float(power.value)
        power_source = f"{profile.id} power, {power.basis}: {power.source}"
    return ProfileInputs(
        id=profile.id,
        label=f"{profile.vendor} {profile.name}",
        domestic=bool(profile.domestic),
        peak_tflops=peak_tflops,
        peak_source=peak_source,
        rent=rent,
        power_w=power_w,
        power_source=power_source,
    )


def _values(text: str | None, flag: str) -> np.ndarray | None:
    from subsidybench.cost.sweep import parse_values

    return None if text is None else parse_values(text, flag)


def _one(values: np.ndarray | None, flag: str) -> float | None:
    if values is None:
        return None
    if values.size != 1:
        raise UserError(f"{flag} takes one value here")
    return float(values[0])


def _pair(text: str, flag: str, names: tuple[str, str]) -> tuple[float, float]:
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise UserError(
            f"{flag}: expected {names[0]}:{names[1]}, e.g. 7e9:2e12, got {text!r}"
        ) from None


# Options whose defaults are not plain values live here (a call in a signature is evaluated once).
RUN_OPTION = typer.Option(
    None,
    "--run",
    help="A run result (JSON) to take the measured throughput from.",
    rich_help_panel=WORK,
)
JSON_OPTION = typer.Option(
    None,
    "--json",
    help="Also write the answer and its assumptions as JSON.",
    rich_help_panel=OUTPUT,
)
COMPARE_OPTION = typer.Option(
    None,
    "--compare",
    help="A TOML file of [[option]] tables (device, price, throughput, "
    "programme): cost the job on each and rank them by net cost per unit of work.",
    rich_help_panel=JOB,
)
SCALING_FROM_OPTION = typer.Option(
    None,
    "--scaling-from",
    help="A distributed run result (JSON): take the scaling efficiency it measured at "
    "--devices ranks (or the nearest size it measured, labelled so).",
    rich_help_panel=DEVICE,
)
CSV_OPTION = typer.Option(
    None,
    "--csv",
    help="Also write the answer (or every sweep row) as CSV.",
    rich_help_panel=OUTPUT,
)


@app.command("cost", no_args_is_help=True)
def cost_command(
    train: str | None = typer.Option(
        None, "--train", help="Train PARAMS:TOKENS, e.g. 7e9:2e12.", rich_help_panel=JOB
    ),
    layers: int | None = typer.Option(
        None, "--layers", help="Layers, for the attention FLOPs term.", rich_help_panel=JOB
    ),
    attention_width: float | None = typer.Option(
        None,
        "--attention-width",
        help="Heads x head width (d_model in most models), for the attention term.",
        rich_help_panel=JOB,
    ),
    seq_len: int | None = typer.Option(
        None,
        "--seq-len",
        help="Training sequence length, for the attention term.",
        rich_help_panel=JOB,
    ),
    serve: float | None = typer.Option(
        None, "--serve", help="Serve this many inference tokens.", rich_help_panel=JOB
    ),
    params: float | None = typer.Option(
        None,
        "--params",
        help="Model parameters (serving at a FLOP rate: 2N per token).",
        rich_help_panel=JOB,
    ),
    hours: str | None = typer.Option(
        None, "--hours", help=f"Device-hours to buy. {_SWEEPABLE}", rich_help_panel=JOB
    ),
    contract: str | None = typer.Option(
        None,
        "--contract",
        help=f"A contract value, in the report currency. {_SWEEPABLE}",
        rich_help_panel=JOB,
    ),
    reach: str | None = typer.Option(
        None,
        "--reach",
        help="How far a subsidy goes: 'cap' (a firm's cap), 'pool' (the whole pool) or an "
        "amount in the report currency. With --train, counts training runs.",
        rich_help_panel=JOB,
    ),
    compare: Path | None = COMPARE_OPTION,
    contract_size: float | None = typer.Option(
        None,
        "--contract-size",
        help="With --reach: firms covered at this contract size each.",
        rich_help_panel=JOB,
    ),
    run: Path | None = RUN_OPTION,
    workload: str | None = typer.Option(
        None, "--workload", help="Which workload of --run (its id).", rich_help_panel=WORK
    ),
    metric: str = typer.Option(
        "flops",
        "--metric",
        help="From --run, use its FLOP rate ('flops') or token rate ('tokens').",
        rich_help_panel=WORK,
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Cost a result whose verdict is invalid (marked as forced).",
        rich_help_panel=WORK,
    ),
    tflops: str | None = typer.Option(
        None,
        "--tflops",
        help=f"Sustained TFLOP/s per device, given by hand. {_SWEEPABLE}",
        rich_help_panel=WORK,
    ),
    tokens_per_s: str | None = typer.Option(
        None,
        "--tokens-per-s",
        help=f"Sustained tokens/s per device for this job's model. {_SWEEPABLE}",
        rich_help_panel=WORK,
    ),
    mfu: str | None = typer.Option(
        None,
        "--mfu",
        help=f"Model-FLOPs utilisation (0-1) times the peak: an estimate. {_SWEEPABLE}",
        rich_help_panel=WORK,
    ),
    peak_tflops: float | None = typer.Option(
        None,
        "--peak-tflops",
        help="Peak TFLOP/s for --mfu (default: the profile's).",
        rich_help_panel=WORK,
    ),
    dtype: str = typer.Option(
        "bf16", "--dtype", help="Which of the profile's peaks --mfu uses.", rich_help_panel=WORK
    ),
    profile: str | None = typer.Option(
        None,
        "--profile",
        help="Device profile: fills peak, rent, power and chip origin.",
        rich_help_panel=DEVICE,
    ),
    profiles_dir: ProfilesDir = None,
    domestic: bool | None = typer.Option(
        None,
        "--domestic/--not-domestic",
        help="Whether the chip is domestic (default: the "
        "profile's; without a profile, not domestic).",
        rich_help_panel=DEVICE,
    ),
    devices: str = typer.Option(
        "1", "--devices", help=f"Devices working together. {_SWEEPABLE}", rich_help_panel=DEVICE
    ),
    scaling_efficiency: str | None = typer.Option(
        None,
        "--scaling-efficiency",
        help=f"Share of n x one device's rate a cluster reaches "
        f"(required for more than one device). {_SWEEPABLE}",
        rich_help_panel=DEVICE,
    ),
    scaling_from: Path | None = SCALING_FROM_OPTION,
    scaling_workload: str | None = typer.Option(
        None,
        "--scaling-workload",
        help="Which scaling series of --scaling-from (when it has several).",
        rich_help_panel=DEVICE,
    ),
    price: str | None = typer.Option(
        None, "--price", help=f"Rent per device-hour. {_SWEEPABLE}", rich_help_panel=DEVICE
    ),
    currency: str | None = typer.Option(
        None,
        "--currency",
        help="Currency of --price and the owned-hardware money (USD, CNY).",
        rich_help_panel=DEVICE,
    ),
    report_currency: str | None = typer.Option(
        None, "--in", help="Currency to answer in (default: the price's).", rich_help_panel=DEVICE
    ),
    fx: float | None = typer.Option(
        None,
        "--fx",
        help="Exchange rate, as the data file states it (USD-CNY: CNY per USD); "
        "default: profiles/fx, dated.",
        rich_help_panel=DEVICE,
    ),
    capex: str | None = typer.Option(
        None,
        "--capex",
        help=f"Owned: purchase price per device. {_SWEEPABLE}",
        rich_help_panel=DEVICE,
    ),
    lifetime: str | None = typer.Option(
        None,
        "--lifetime",
        help=f"Owned: years to spread the capex over. {_SWEEPABLE}",
        rich_help_panel=DEVICE,
    ),
    cost_of_capital: str | None = typer.Option(
        None,
        "--cost-of-capital",
        help=f"Yearly cost of money (0.08 = 8%); also discounts a late subsidy. {_SWEEPABLE}",
        rich_help_panel=DEVICE,
    ),
    power_w: str | None = typer.Option(
        None,
        "--power-w",
        help=f"Owned: average watts per device while working (default: the "
        f"profile's). {_SWEEPABLE}",
        rich_help_panel=DEVICE,
    ),
    pue: str | None = typer.Option(
        None,
        "--pue",
        help=f"Owned: power usage effectiveness (>= 1). {_SWEEPABLE}",
        rich_help_panel=DEVICE,
    ),
    tariff: str | None = typer.Option(
        None,
        "--tariff",
        help=f"Owned: electricity price per kWh. {_SWEEPABLE}",
        rich_help_panel=DEVICE,
    ),
    hosting: str | None = typer.Option(
        None,
        "--hosting",
        help=f"Owned: hosting per device per year. {_SWEEPABLE}",
        rich_help_panel=DEVICE,
    ),
    utilisation: str | None = typer.Option(
        None,
        "--utilisation",
        help=f"Owned: share of hours the device works (default 1). {_SWEEPABLE}",
        rich_help_panel=DEVICE,
    ),
    subsidy: str | None = typer.Option(
        None,
        "--subsidy",
        help="Subsidy programme (see 'subsidybench subsidies list').",
        rich_help_panel=SUBSIDY,
    ),
    rate: str | None = typer.Option(
        None,
        "--rate",
        help=f"Subsidy rate (0-1), replacing the programme's. {_SWEEPABLE}",
        rich_help_panel=SUBSIDY,
    ),
    cap: float | None = typer.Option(
        None, "--cap", help="Subsidy cap, with --rate and no programme.", rich_help_panel=SUBSIDY
    ),
    small_firm: bool = typer.Option(
        False,
        "--small-firm",
        help="The firm qualifies for a programme's small-firm rate.",
        rich_help_panel=SUBSIDY,
    ),
    spend: str | None = typer.Option(
        None,
        "--spend",
        help="Kind of spend: compute-rent (default with a price), "
        "compute-build (default for owned), model-services, datasets.",
        rich_help_panel=SUBSIDY,
    ),
    json_path: Path | None = JSON_OPTION,
    csv_path: Path | None = CSV_OPTION,
    rows: int = typer.Option(
        40, "--rows", help="Sweep rows to print (all go to --csv/--json).", rich_help_panel=OUTPUT
    ),
) -> None:
    """Cost a job on a device before and after a subsidy, or say how far a subsidy goes.

    A job is --train, --serve, --hours or --contract; --reach asks how far a subsidy goes.
    Any flag given a list or range (--rate 0.1:1.0:0.1) makes a sweep over every combination.
    """
    profiles_dir = profiles_dir or []
    from subsidybench.cost import model as model
    from subsidybench.provenance import Assumption, Basis
    from subsidybench.report.cost_answer import (
        flat,
        print_compare,
        print_estimate,
        print_reach,
        print_sweep,
        write,
    )

    if compare is not None:
        device_flags = {
            "--run": run,
            "--tflops": tflops,
            "--tokens-per-s": tokens_per_s,
            "--mfu": mfu,
            "--profile": profile,
            "--price": price,
            "--capex": capex,
            "--subsidy": subsidy,
            "--rate": rate,
            "--reach": reach,
            "--scaling-from": scaling_from,
        }
        clash = [flag for flag, value in device_flags.items() if value is not None]
        if clash:
            raise UserError(f"--compare takes devices from its file; drop {', '.join(clash)}")
        given_jobs = {"--train": train, "--serve": serve, "--hours": hours, "--contract": contract}
        if sum(v is not None for v in given_jobs.values()) != 1:
            raise UserError("--compare needs one job: --train, --serve, --hours or --contract")
        one_job = {
            "--hours": _one(_values(hours, "--hours"), "--hours"),
            "--contract": _one(_values(contract, "--contract"), "--contract"),
        }
        job = _job(model, train, layers, attention_width, seq_len, serve, params, one_job)
        ranked = _compare(model, compare, job, profiles_dir, report_currency, fx)
        print_compare(ranked)
        doc = {"kind": "compare", "ranked": [e.to_dict() for e in ranked]}
        frame = None
        if csv_path is not None:
            import pandas as pd

            frame = pd.DataFrame([flat(e.to_dict()) for e in ranked])
        write(json_path, csv_path, doc, frame)
        return

    extra: list[Assumption] = []
    programme = None
    if subsidy is not None:
        from subsidybench.catalogue.subsidies import load_programme

        programme = load_programme(subsidy, profiles_dir)
    # A yuan programme is costed on a yuan rent where the profile has one (no exchange rate).
    prog_currency = programme.currency if programme is not None else None
    prof = load_profile_inputs(profile, profiles_dir, dtype, prog_currency) if profile else None
    if prof is not None:
        extra.append(Assumption("device", f"{prof.label} [{prof.id}]", Basis.DATA, "--profile"))

    swept = {
        "--hours": _values(hours, "--hours"),
        "--contract": _values(contract, "--contract"),
        "--tflops": _values(tflops, "--tflops"),
        "--tokens-per-s": _values(tokens_per_s, "--tokens-per-s"),
        "--mfu": _values(mfu, "--mfu"),
        "--devices": _values(devices, "--devices"),
        "--scaling-efficiency": _values(scaling_efficiency, "--scaling-efficiency"),
        "--price": _values(price, "--price"),
        "--capex": _values(capex, "--capex"),
        "--lifetime": _values(lifetime, "--lifetime"),
        "--cost-of-capital": _values(cost_of_capital, "--cost-of-capital"),
        "--power-w": _values(power_w, "--power-w"),
        "--pue": _values(pue, "--pue"),
        "--tariff": _values(tariff, "--tariff"),
        "--hosting": _values(hosting, "--hosting"),
        "--utilisation": _values(utilisation, "--utilisation"),
        "--rate": _values(rate, "--rate"),
    }
    sweeping = [flag for flag, v in swept.items() if v is not None and v.size > 1]

    # The job.
    given_jobs = {"--train": train, "--serve": serve, "--hours": hours, "--contract": contract}
    jobs = [flag for flag, value in given_jobs.items() if value is not None]
    if reach is None and not jobs:
        raise UserError("give a job: --train PARAMS:TOKENS, --serve TOKENS, --hours or --contract")
    if len(jobs) > 1:
        raise UserError(f"give one job, not {' and '.join(jobs)}")

    # Chip origin.
    if domestic is None:
        is_domestic = prof.domestic if prof is not None else False
        origin_basis = Basis.DATA if prof is not None else Basis.GIVEN
        origin_note = "from the profile" if prof is not None else "not given: taken as not domestic"
    else:
        is_domestic, origin_basis, origin_note = domestic, Basis.GIVEN, "--domestic/--not-domestic"

    # Currencies: the price's, the answer's, the programme's (programme loaded above).
    owned = capex is not None
    if not owned and any(x is not None for x in (lifetime, tariff, pue, hosting, utilisation)):
        raise UserError("owned-hardware flags need --capex")
    if owned and price is not None:
        raise UserError("give --price (rent) or --capex (owned), not both")
    if price is not None or owned:
        if currency is None:
            raise UserError("give --currency for --price/--capex (e.g. --currency USD)")
        price_currency = currency.upper()
        price_basis, price_source = Basis.GIVEN, "--price" if not owned else "--capex"
    elif prof is not None and prof.rent is not None:
        amount, price_currency, basis_text, price_source = prof.rent
        price_basis = _basis(basis_text)
        swept["--price"] = _values(str(amount), "--price")
    elif reach is None or jobs:
        raise UserError(
            "give a price: --price with --currency, --capex (owned), or a --profile with a rent"
        )
    else:
        raise UserError("--reach needs a price: --price with --currency, or --capex")
    out_currency = (report_currency or price_currency).upper()

    needs_fx = {price_currency, out_currency} | ({programme.currency} if programme else set())
    fx_rate = None
    if len(needs_fx) > 1:
        from subsidybench.catalogue.fx import load_fx

        others = sorted(needs_fx - {out_currency})
        fx_rate = load_fx(others[0], out_currency, profiles_dir, fx)
        if len(others) > 1:
            raise UserError(
                f"more than two currencies ({', '.join(sorted(needs_fx))}) in one answer"
            )
        extra.append(
            Assumption(
                "exchange rate",
                f"{fx_rate.describe()} ({fx_rate.date})",
                Basis.GIVEN if fx is not None else Basis.DATA,
                fx_rate.source if fx is None else "--fx",
            )
        )

    def convert(value: float | np.ndarray, source_ccy: str) -> Any:
        if source_ccy == out_currency:
            return value
        assert fx_rate is not None
        return value * fx_rate.factor(source_ccy, out_currency)

    # Throughput.
    given_rates = {"--run": run, "--tflops": tflops, "--tokens-per-s": tokens_per_s, "--mfu": mfu}
    sources = [flag for flag, value in given_rates.items() if value is not None]
    if len(sources) > 1:
        raise UserError(f"give one throughput, not {' and '.join(sources)}")
    peak = peak_tflops
    peak_source = "given by hand (--peak-tflops)"
    if mfu is not None and peak is None:
        if prof is None or prof.peak_tflops is None:
            raise UserError(
                f"--mfu needs a peak: give --peak-tflops or a --profile with a {dtype} peak"
            )
        peak, peak_source = prof.peak_tflops, prof.peak_source

    # Cluster.
    n_values = swept["--devices"]
    assert n_values is not None
    eff_values = swept["--scaling-efficiency"]
    measured = None
    if scaling_from is not None:
        measured = _measured_efficiency(scaling_from, n_values, eff_values, scaling_workload, force)
        eff_values = _values(repr(measured.value), "--scaling-from")
        swept["--scaling-efficiency"] = eff_values
    elif scaling_workload is not None:
        raise UserError("--scaling-workload picks a series of --scaling-from: give that too")
    if eff_values is None:
        if n_values.max() > 1:
            raise UserError(
                "more than one device needs --scaling-efficiency (1.0 = perfect "
                "scaling; measured clusters reach less)"
            )
        eff_values = _values("1", "--scaling-efficiency")
        swept["--scaling-efficiency"] = eff_values
    if (n_values < 1).any() or (n_values != n_values.round()).any():
        raise UserError("--devices must be whole numbers >= 1")

    spend_kind = _spend(spend, owned)
    extra.append(
        Assumption(
            "chip origin", "domestic" if is_domestic else "not domestic", origin_basis, origin_note
        )
    )

    if sweeping:
        if reach is not None:
            raise UserError("--reach takes single values; drop the lists to use it")
        tp_one = _throughput(
            run, workload, metric, force, dict.fromkeys(swept), None, "", prof.id if prof else None
        )
        sweep_job = None
        if train is not None or serve is not None:
            sweep_job = _job(
                model, train, layers, attention_width, seq_len, serve, params, dict.fromkeys(swept)
            )
        terms_args = {
            "spend": spend_kind,
            "domestic": is_domestic,
            "small_firm": small_firm,
            "to_job_currency": convert(1.0, programme.currency) if programme else 1.0,
            "job_currency": out_currency,
        }
        frame, notes = _sweep(
            model,
            sweep_job,
            swept,
            owned,
            tp_one,
            peak,
            peak_source,
            programme,
            terms_args,
            cap,
            convert,
            price_currency,
            prof,
        )
        extra = [*notes, *extra]
        if measured is not None:
            extra.append(measured.assumption())
        print_sweep(frame, sweeping, out_currency, rows, extra)
        write(
            json_path,
            csv_path,
            {
                "kind": "sweep",
                "currency": out_currency,
                "assumptions": [a.to_dict() for a in extra],
            },
            frame,
        )
        return

    # One scenario: every value is single from here on.
    one = {k: _one(v, k) for k, v in swept.items()}
    if measured is not None:
        cluster = model.Cluster(measured.devices, measured.value, measured.basis, measured.source)
    else:
        cluster = model.Cluster(int(one["--devices"] or 1), one["--scaling-efficiency"] or 1.0)
    tp = _throughput(
        run, workload, metric, force, one, peak, peak_source, prof.id if prof else None
    )
    hourly, hardware = _price(
        model, one, owned, price_currency, price_basis, price_source, prof, convert, out_currency
    )

    coc = one["--cost-of-capital"]
    terms = None
    build = None
    if programme is not None or one["--rate"] is not None:
        if programme is not None:
            terms = model.terms_from_programme(
                programme,
                spend=spend_kind,
                domestic=is_domestic,
                small_firm=small_firm,
                to_job_currency=convert(1.0, programme.currency),
                job_currency=out_currency,
                rate=one["--rate"],
            )
        else:
            assert one["--rate"] is not None
            terms = model.given_terms(one["--rate"], math.inf if cap is None else cap)
        if hardware is not None:
            build = model.build_subsidy(hardware, terms, cluster.devices)
            terms = None

    if reach is not None:
        result = _reach(
            model,
            reach,
            programme,
            terms or (build.terms if build else None),
            hourly,
            tp,
            cluster,
            train,
            layers,
            attention_width,
            seq_len,
            contract_size,
            convert,
            extra,
            spend_kind,
            is_domestic,
            small_firm,
        )
        print_reach(result)
        write(json_path, csv_path, {"kind": "reach", **result.to_dict()}, None)
        return

    job = _job(model, train, layers, attention_width, seq_len, serve, params, one)
    est = model.estimate(job, hourly, tp, cluster, terms, coc, extra_assumptions=extra, build=build)
    print_estimate(est)
    write(json_path, csv_path, {"kind": "estimate", **est.to_dict()}, None)


def _measured_efficiency(
    path: Path,
    devices: np.ndarray,
    given: np.ndarray | None,
    workload: str | None,
    force: bool,
) -> Any:
    """The scaling efficiency a distributed run measured for the job's cluster size."""
    from subsidybench.results.record import load_run
    from subsidybench.results.scaling import efficiency_for

    if given is not None:
        raise UserError("give --scaling-efficiency or --scaling-from, not both")
    if devices.size != 1:
        raise UserError(
            "--scaling-from takes one --devices value: an efficiency is measured for one size"
        )
    n = float(devices[0])
    if n < 1 or n != round(n):
        raise UserError("--devices must be whole numbers >= 1")
    measured = efficiency_for(load_run(path), str(path), int(n), workload, force)
    if measured.value > 1:
        raise UserError(
            f"{path}: measured scaling efficiency {measured.value:.1%} is above 100% "
            f"({measured.source}); a cost cannot rest on more than perfect scaling: "
            "measure again, or give --scaling-efficiency 1"
        )
    return measured


def _basis(text: str) -> Any:
    from subsidybench.provenance import Basis

    for b in Basis:
        if b.value == text:
            return b
    return Basis.DATA


def _spend(text: str | None, owned: bool) -> Any:
    from subsidybench.catalogue.subsidies import Spend

    if text is None:
        return Spend.COMPUTE_BUILD if owned else Spend.COMPUTE_RENT
    kinds = {s.value: s for s in Spend}
    if text not in kinds:
        raise UserError(f"--spend: {text!r} is not one of {', '.join(kinds)}")
    return kinds[text]


def _throughput(
    run: Path | None,
    workload: str | None,
    metric: str,
    force: bool,
    one: dict[str, float | None],
    peak: float | None,
    peak_source: str,
    profile_id: str | None,
) -> Throughput | None:
    from subsidybench.cost import throughput as tp

    if run is not None:
        if metric not in {u.value for u in tp.WorkUnit}:
            raise UserError(f"--metric: expected flops or tokens, got {metric!r}")
        return tp.from_run_file(run, workload, tp.WorkUnit(metric), force, profile_id)
    if one["--tflops"] is not None:
        return tp.given_tflops(one["--tflops"])
    if one["--tokens-per-s"] is not None:
        return tp.given_tokens_per_s(one["--tokens-per-s"])
    if one["--mfu"] is not None:
        assert peak is not None
        return tp.from_mfu(one["--mfu"], peak, peak_source)
    return None


def _price(
    model: Any,
    one: dict[str, float | None],
    owned: bool,
    price_currency: str,
    basis: Any,
    source: str,
    prof: ProfileInputs | None,
    convert: Any,
    out_currency: str,
) -> tuple[HourlyPrice, Any]:
    if not owned:
        amount = one["--price"]
        assert amount is not None
        note = source
        if price_currency != out_currency:
            note = f"{source}: {amount:,.4g} {price_currency}"
        return model.HourlyPrice.rent(
            convert(amount, price_currency), out_currency, basis, note
        ), None
    watts = one["--power-w"]
    watt_source = "--power-w"
    if watts is None:
        if prof is None or prof.power_w is None:
            raise UserError("owned hardware needs --power-w (or a --profile with a power figure)")
        watts, watt_source = prof.power_w, prof.power_source
    missing = [
        f for f in ("--lifetime", "--cost-of-capital", "--pue", "--tariff") if one[f] is None
    ]
    if missing:
        raise UserError(f"owned hardware needs {', '.join(missing)}")
    hardware = model.OwnedHardware(
        capex=convert(one["--capex"], price_currency),
        lifetime_years=one["--lifetime"],
        cost_of_capital=one["--cost-of-capital"],
        power_w=watts,
        pue=one["--pue"],
        tariff_per_kwh=convert(one["--tariff"], price_currency),
        currency=out_currency,
        hosting_per_year=convert(one["--hosting"] or 0.0, price_currency),
        utilisation=one["--utilisation"] or 1.0,
    )
    return model.HourlyPrice.from_owned(hardware, f"power: {watt_source}"), hardware


def _job(
    model: Any,
    train: str | None,
    layers: int | None,
    width: float | None,
    seq_len: int | None,
    serve: float | None,
    params: float | None,
    one: dict[str, float | None],
) -> Job:
    if train is not None:
        n, d = _pair(train, "--train", ("PARAMS", "TOKENS"))
        return model.TrainJob(n, d, layers, width, seq_len)
    if serve is not None:
        return model.ServeJob(serve, params)
    if one["--hours"] is not None:
        return model.HoursJob(one["--hours"])
    assert one["--contract"] is not None
    return model.ContractJob(one["--contract"])


def _reach(
    model: Any,
    reach: str,
    programme: Any,
    terms: Any,
    hourly: HourlyPrice,
    tp: Throughput | None,
    cluster: Any,
    train: str | None,
    layers: int | None,
    width: float | None,
    seq_len: int | None,
    contract_size: float | None,
    convert: Any,
    extra: list[Assumption],
    spend_kind: Any,
    domestic: bool,
    small_firm: bool,
) -> Reach:
    from subsidybench.provenance import Assumption, Basis

    if terms is None:
        raise UserError("--reach needs a rate: give --subsidy or --rate")
    firm_cap = terms.cap_per_firm_year
    if not math.isfinite(firm_cap):
        firm_cap = terms.cap_per_contract
    if reach == "cap":
        if not math.isfinite(firm_cap):
            who = programme.id if programme is not None else "the subsidy"
            raise UserError(f"{who} states no cap per firm: give --reach AMOUNT")
        amount, label, basis = firm_cap, "a firm's cap", Basis.PROGRAMME
    elif reach == "pool":
        if programme is None or programme.pool.value is None:
            raise UserError("--reach pool needs a --subsidy whose pool is stated")
        amount = convert(programme.pool.value, programme.currency)
        label, basis = f"the pool, period: {programme.pool_period}", Basis.PROGRAMME
    else:
        try:
            amount = float(reach)
        except ValueError:
            raise UserError(f"--reach: expected cap, pool or an amount, got {reach!r}") from None
        label, basis = "given by hand", Basis.GIVEN
    job = None
    if train is not None:
        n, d = _pair(train, "--train", ("PARAMS", "TOKENS"))
        job = model.TrainJob(n, d, layers, width, seq_len)
    if math.isfinite(terms.window_hours):
        # How far money goes at a rate that lapses depends on how fast it is spent: say so.
        extra = [
            *extra,
            Assumption(
                "rate window",
                f"{terms.rate:.0%} taken for all spend; the programme limits it to "
                f"{terms.window_hours:,.0f} hours of a contract",
                Basis.NOT_APPLIED,
            ),
        ]
    return model.reach(
        amount,
        label,
        terms.rate,
        hourly,
        tp,
        cluster,
        job,
        contract_size,
        cap_per_firm=firm_cap,
        extra_assumptions=[*terms.assumptions, *extra],
        amount_basis=basis,
    )


def _sweep(
    model: Any,
    job: Job | None,
    swept: dict[str, np.ndarray | None],
    owned: bool,
    tp_one: Throughput | None,
    peak: float | None,
    peak_source: str,
    programme: Any,
    terms_args: dict[str, Any],
    cap: float | None,
    convert: Any,
    price_currency: str,
    prof: ProfileInputs | None,
) -> tuple[Any, list[Assumption]]:
    """Every combination of the list-valued flags, through subsidybench.cost.sweep."""
    from subsidybench.cost.sweep import sweep
    from subsidybench.cost.throughput import TERA, WorkUnit
    from subsidybench.provenance import Assumption, Basis

    notes: list[Assumption] = []
    unit = WorkUnit.FLOPS
    per_second: Any = None
    mfu_values = None
    if tp_one is not None:  # a run result: one measured rate
        per_second, unit = tp_one.per_second, tp_one.unit
        notes.extend(tp_one.assumptions())
    elif swept["--tflops"] is not None:
        per_second = swept["--tflops"] * TERA
        notes.append(Assumption("throughput", "TFLOP/s per device", Basis.GIVEN, "--tflops"))
    elif swept["--tokens-per-s"] is not None:
        per_second, unit = swept["--tokens-per-s"], WorkUnit.TOKENS
        notes.append(Assumption("throughput", "tokens/s per device", Basis.GIVEN, "--tokens-per-s"))
    elif swept["--mfu"] is not None:
        mfu_values = swept["--mfu"]
        assert peak is not None
        notes.append(
            Assumption("throughput", f"MFU x peak {peak:,.4g} TFLOP/s", Basis.ESTIMATE, peak_source)
        )

    work = hours = contract_value = None
    if isinstance(job, model.TrainJob | model.ServeJob):
        notes.extend(model.job_assumptions(job))
        if unit is WorkUnit.TOKENS:
            work = job.tokens
        else:
            work = job.flops
            if work is None:
                raise UserError("serving at a FLOP rate needs the model size: give --params")
    elif swept["--hours"] is not None:
        hours = swept["--hours"]
    else:
        contract_value = swept["--contract"]

    rate_values = swept["--rate"]
    cap_value, window, after = math.inf, math.inf, 0.0
    if programme is not None:
        if owned:
            raise UserError(
                "a sweep of owned hardware cannot take a building subsidy; sweep --rate "
                "without --subsidy, or drop the lists"
            )
        given_rate = None if rate_values is None else float(rate_values[0])
        terms = model.terms_from_programme(programme, rate=given_rate, **terms_args)
        notes.extend(
            a for a in terms.assumptions if rate_values is None or a.name != "subsidy rate"
        )
        cap_value = terms.cap
        if rate_values is None:
            rate_values = terms.rate
            window, after = terms.window_hours, terms.after_rate
    elif cap is not None:
        cap_value = cap
        notes.append(Assumption("subsidy cap", f"{cap:,.0f}", Basis.GIVEN, "--cap"))
    if rate_values is None:
        rate_values = 0.0
        notes.append(Assumption("subsidy", "none (give --subsidy or --rate)", Basis.GIVEN))

    owned_inputs = None
    price_values = None
    if owned:
        watts = swept["--power-w"]
        if watts is None and prof is not None and prof.power_w is not None:
            watts = prof.power_w
            notes.append(
                Assumption("power per device", f"{watts:g} W", Basis.DATA, prof.power_source)
            )
        owned_inputs = {
            "capex": convert(swept["--capex"], price_currency),
            "lifetime_years": swept["--lifetime"],
            "cost_of_capital": swept["--cost-of-capital"],
            "power_w": watts,
            "pue": swept["--pue"],
            "tariff_per_kwh": convert(swept["--tariff"], price_currency),
        }
        missing = [k for k, v in owned_inputs.items() if v is None]
        if missing:
            raise UserError(f"owned hardware needs {', '.join(missing)}")
        if swept["--hosting"] is not None:
            owned_inputs["hosting_per_year"] = convert(swept["--hosting"], price_currency)
        if swept["--utilisation"] is not None:
            owned_inputs["utilisation"] = swept["--utilisation"]
        notes.append(
            Assumption("price", "owned: capex as an annuity + energy + hosting", Basis.DERIVED)
        )
    else:
        price_values = convert(swept["--price"], price_currency)
        notes.append(Assumption("price", f"rent per device-hour, {price_currency}", Basis.GIVEN))
    frame = sweep(
        unit=unit,
        work=work,
        device_hours=hours,
        contract_value=contract_value,
        price_per_hour=price_values,
        owned=owned_inputs,
        per_second=per_second,
        mfu=mfu_values,
        peak_per_second=None if peak is None else peak * TERA,
        devices=swept["--devices"],
        scaling_efficiency=swept["--scaling-efficiency"],
        rate=rate_values,
        cap=cap_value,
        window_hours=window,
        after_rate=after,
    )
    return frame, notes


def _compare(
    model: Any,
    path: Path,
    job: Job,
    profiles_dir: list[Path],
    report_currency: str | None,
    fx: float | None,
) -> list[Estimate]:
    """Cost `job` on every option of a comparison file, cheapest per unit of work first."""
    from subsidybench.catalogue.fx import load_fx
    from subsidybench.catalogue.subsidies import load_programme
    from subsidybench.cost.options import load_options
    from subsidybench.provenance import Assumption, Basis

    options = []
    specs = load_options(path)
    first_currency = specs[0].currency
    for spec in specs:
        where = f"{path}: option {spec.label!r}"
        notes: list[Assumption] = []
        prof = load_profile_inputs(spec.profile, profiles_dir, spec.dtype) if spec.profile else None
        if prof is not None:
            notes.append(Assumption("device", f"{prof.label} [{prof.id}]", Basis.DATA, where))
            first_currency = first_currency or (prof.rent[1] if prof.rent else None)
        if spec.price is not None:
            assert spec.currency is not None
            amount, ccy, basis, source = spec.price, spec.currency.upper(), Basis.GIVEN, where
        elif prof is not None and prof.rent is not None:
            amount, ccy, basis_text, source = prof.rent
            basis = _basis(basis_text)
        else:
            raise UserError(
                f"{where}: no price (give price and currency, or a profile with a rent)"
            )
        out = (report_currency or first_currency or ccy).upper()

        def factor(source_ccy: str, out: str = out, notes: list[Assumption] = notes) -> float:
            if source_ccy == out:
                return 1.0
            rate = load_fx(source_ccy, out, profiles_dir, fx)
            note = Assumption(
                "exchange rate",
                f"{rate.describe()} ({rate.date})",
                Basis.GIVEN if fx is not None else Basis.DATA,
                rate.source,
            )
            if note not in notes:
                notes.append(note)
            return rate.factor(source_ccy, out)

        if ccy != out:
            source = f"{source}: {amount:,.4g} {ccy}"
        hourly = model.HourlyPrice.rent(amount * factor(ccy), out, basis, source)
        peak, peak_source = spec.peak_tflops, "given in the comparison file"
        if spec.mfu is not None and peak is None:
            if prof is None or prof.peak_tflops is None:
                raise UserError(f"{where}: mfu needs peak_tflops or a profile with a peak")
            peak, peak_source = prof.peak_tflops, prof.peak_source
        one = {"--tflops": spec.tflops, "--tokens-per-s": spec.tokens_per_s, "--mfu": spec.mfu}
        tp = _throughput(
            spec.run,
            spec.workload,
            spec.metric,
            spec.force,
            one,
            peak,
            peak_source,
            prof.id if prof else None,
        )
        assert tp is not None
        if spec.domestic is not None:
            is_domestic, origin = spec.domestic, Basis.GIVEN
        else:
            is_domestic = prof.domestic if prof is not None else False
            origin = Basis.DATA if prof is not None else Basis.GIVEN
        notes.append(
            Assumption("chip origin", "domestic" if is_domestic else "not domestic", origin, where)
        )
        terms = None
        if spec.subsidy is not None:
            programme = load_programme(spec.subsidy, profiles_dir)
            terms = model.terms_from_programme(
                programme,
                domestic=is_domestic,
                small_firm=spec.small_firm,
                to_job_currency=factor(programme.currency),
                job_currency=out,
                rate=spec.rate,
            )
        elif spec.rate is not None:
            terms = model.given_terms(spec.rate)
        cluster = model.Cluster(spec.devices, spec.scaling_efficiency or 1.0)
        options.append(model.Option(spec.label, hourly, tp, terms, cluster, tuple(notes)))
    return model.compare(job, options)
