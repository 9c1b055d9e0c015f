"""The costing core's words in the reader's language: assumption values and sources, the job's
description, programme terms, warnings and the report's notes.

The costing core (cost/) writes these in English with their figures inside, and stays the one
place that makes them; a report or page in Chinese translates them here, at the rendering side,
as report.i18n translates verdict reasons. Each known phrase is a pattern whose named groups
(figures, ids, flags, dates, file names: never translated) fill a message key's placeholders
(core.KEY in report/messages/). A phrase not listed is shown as the core wrote it; the tests
render Chinese reports and pages and fail on an English word left in them.
"""

from __future__ import annotations

import functools
import re

from subsidybench.report.i18n import ENGLISH, Messages

# A figure as the core prints it: 1,234.5, 2.5e+06, 30%, -0.1.
_N = r"[-+]?[\d.,]+(?:[eE][-+]?\d+)?%?"
# An id, a flag, a date or a file name: one token without spaces or brackets.
_ID = r"[^\s;()\[\]]+"

# (pattern, message key): the more specific phrase first, as a shorter one may sit inside it.
_PHRASES: tuple[tuple[str, str], ...] = (
    # Throughput and peaks (cost.throughput, cost.evaluate, cost.answer).
    (rf"(?P<x>{_N}) TFLOP/s per device at (?P<at>[^;]+)", "tflops_at"),
    (rf"(?P<x>{_N}) TFLOP/s per device", "tflops"),
    (rf"(?P<x>{_N}) tokens/s per device at (?P<at>[^;]+)", "tokens_at"),
    (rf"(?P<x>{_N}) tokens/s per device", "tokens"),
    (r"^TFLOP/s per device$", "tflops_unit"),
    (r"^tokens/s per device$", "tokens_unit"),
    (rf"dense (?P<dtype>\w+) peak (?P<x>{_N}) TFLOP/s", "peak"),
    (
        r"against the dense (?P<dtype>\w+) peak; papers quote MFU against the dense bf16 peak,"
        r" so compare with care",
        "mfu_convention",
    ),
    (
        r"median seconds per step of the run's raw samples; work per step counted analytically"
        r" by each workload",
        "throughput_measured",
    ),
    (r", suite (?P<suite>\S+) v(?P<v>\d+)$", "suite"),
    (
        r"derived on this machine by (?P<module>\S+) from (?P<file>\S+) and CPU affinity",
        "cpu_peak",
    ),
    # Prices (cost.pricing, cost.evaluate, cost.device).
    (rf"(?P<x>{_N}) (?P<cur>[A-Z]{{3}}) per device-hour \(rent\)", "rent_value"),
    (r": the midpoint of (?P<range>\S+) (?P<cur>[A-Z]{3})", "midpoint"),
    (r"rent per device-hour, (?P<cur>[A-Z]{3})", "rent"),
    (r"owned: capex as an annuity \+ energy \+ hosting", "owned"),
    (
        rf"(?P<total>{_N}) (?P<cur>[A-Z]{{3}}) per working hour = capital (?P<capital>{_N})"
        rf" \+ energy (?P<energy>{_N}) \+ hosting (?P<hosting>{_N})",
        "owned_value",
    ),
    (r"annuity over the lifetime", "annuity"),
    (r"draw no power and earn nothing; capital is spread over working hours", "idle"),
    (rf"(?P<x>{_N}) years", "years"),
    (rf"(?P<x>{_N}) a year", "a_year"),
    (rf"(?P<x>{_N}) of hours", "of_hours"),
    (rf"(?P<x>{_N}) W while working", "watts_working"),
    (rf"(?P<x>{_N}) (?P<cur>[A-Z]{{3}})/device/year", "hosting"),
    (rf"(?P<x>{_N}) (?P<cur>[A-Z]{{3}})/h \((?P<rest>[^)]*)\)", "rent_seen"),
    (r"seen (?P<date>[\d-]+)", "seen"),
    # Origin, devices, dates (cost.scenario).
    (r"^not domestic$", "not_domestic"),
    (r"^domestic$", "domestic"),
    (r"not given: taken so", "taken_so"),
    (rf"not given: taken as (?P<x>{_N})", "taken_as"),
    (r"not given: today \((?P<flag>--[\w-]+) DATE\)", "today"),
    (r"given by hand \((?P<flag>--[\w-]+)\)", "by_hand_flag"),
    (rf"^profile (?P<id>{_ID})$", "profile"),
    (rf"^profile (?P<id>{_ID}): ", "profile_colon"),
    (rf"(?P<x>{_N}) (?P<quote>[A-Z]{{3}}) per (?P<base>[A-Z]{{3}})", "fx"),
    # The shipped exchange rate's source (profiles/fx/usd-cny.toml): its title stays as
    # published, in 《》.
    (
        rf"Xinhua, '(?P<title>[^']+)' \((?P<date>[\d-]+)\): U\.S\. dollar 100 = (?P<x>{_N})"
        r" yuan, as reproduced at (?P<url>\S+)",
        "fx_xinhua",
    ),
    # The job (cost.jobs).
    (
        rf"train (?P<p>{_N}) activated of (?P<total>{_N}) parameters on (?P<t>{_N}) tokens",
        "train_moe",
    ),
    (rf"train (?P<p>{_N}) parameters on (?P<t>{_N}) tokens", "train"),
    (rf"^serve (?P<t>{_N}) tokens$", "serve"),
    (rf"^(?P<h>{_N}) device-hours$", "hours"),
    (r"\(no attention term: give layers, width, seq\)", "no_attention"),
    (r"PaLM, (?P<author>\w+) et al\. (?P<year>\d{4}), appendix (?P<part>\w+)", "palm"),
    (r"an assumption, not measured", "assumed"),
    (r"(?P<author>[A-Z]\w+) et al\. (?P<year>\d{4}), section (?P<part>[\d.]+)", "cite_section"),
    (rf"^a contract of (?P<v>{_N})$", "contract"),
    (rf"(?P<share>{_N}) of (?P<n>\d+) x one device", "scaling"),
    # The programme's terms (cost.terms, cost.years, cost.owned).
    (
        rf"(?P<rate>{_N}) of (?P<spend>{_ID}) \((?P<rule>[^()]+?); the programme's maximum\)",
        "rate_of_max",
    ),
    (rf"(?P<rate>{_N}) of (?P<spend>[a-z][\w-]*)$", "rate_of"),
    # The rule a programme's rate came from (catalogue.subsidies.Programme.rate_for).
    (r"small-firm rate for (?P<n>\S+) months", "rule_small_months"),
    (r"small-firm rate \(how long it lasts: unknown\)", "rule_small_unknown"),
    (r"small-firm rate", "rule_small"),
    (r"domestic-chip rate", "rule_domestic"),
    (r"base rate", "rule_base"),
    (r"(?<=（)(?P<spend>[a-z][\w-]*) rate(?=；)", "rule_spend"),
    (
        rf"(?P<rate>{_N}) once (?P<h>{_N}) hours of the contract have run",
        "after_window",
    ),
    (
        rf"(?P<rate>{_N}) taken for all spend; the programme limits it to (?P<h>{_N}) hours of"
        r" a contract",
        "window_ignored",
    ),
    (r"chip origin not given, taken as not domestic: (?P<flag>--[\w-]+) gives", "origin_default"),
    (r"not applied \(not in the sources\)", "not_in_sources"),
    (r"not applied \(none\)", "not_applied_none"),
    (r"^unknown: ", "unknown_colon"),
    (r"^none: ", "none_colon"),
    (
        r"calendar years from the job's start \((?P<start>[\d-]+)\): spend is split between them"
        r" evenly over the job's duration, and the yearly limits apply in each",
        "programme_year",
    ),
    (r"the texts grant yearly sums by budget year", "budget_year"),
    (r"(?P<pay>[\w-]+); lag (?P<lag>\S+) months", "payment_lag"),
    (
        r"(?P<pay>[\w-]+); lag (?P<lag>\S+) \(the subsidy is counted at face value\)",
        "payment_face",
    ),
    (r"valid (?P<a>\S+) to (?P<b>\S+); job starts (?P<start>[\d-]+)", "window"),
    (r": pays nothing after (?P<end>[\d-]+)", "pays_until"),
    (r": pays nothing", "pays_nothing"),
    (r": taken as paying throughout", "paying_throughout"),
    (r"; paid throughout, as asked", "paid_as_asked"),
    (r"^assumed valid: ", "assumed_valid"),
    (r"^not yet valid: ", "not_yet_valid"),
    (r"^expired: ", "expired"),
    (r"^dates unknown: ", "dates_unknown"),
    (r"^valid: ", "valid"),
    (rf"(?P<rate>{_N}) of the power bill \((?P<id>{_ID})\)", "power_bill"),
    (r"^swept$", "swept"),
    (r"none \(give --subsidy or --rate\)", "no_subsidy"),
    (r"^after-settlement$", "after_settlement"),
    (r"^upfront$", "upfront"),
    (r"^not-allowed$", "not_allowed"),
    (r"^allowed$", "allowed"),
    # A term the programme's text leaves open, wherever it stands (a window's ends, a lag).
    (r"(?<![\w.-])unknown(?![\w.-])", "unknown"),
    # Serving (cost.serving, report.tables.serving).
    (
        r"each device-hour split by a served batch's phase times: prefill share f = TTFT p50 /"
        r" \(TTFT p50 \+ \(N - 1\) x TPOT p50\); input pays f, output 1 - f",
        "split_rule",
    ),
    (rf"(?P<n>{_N}) output tokens on one device, at each point", "job_costed"),
    (
        r"output tokens; each request's (?P<p>\d+) prompt tokens come with its (?P<n>\d+) output"
        r" tokens",
        "tokens_served",
    ),
    (
        r"concurrency (?P<levels>[\d, ]+): invalid verdict \((?P<flag>--\w+) counts them\)",
        "left_out",
    ),
    (r"times x model layers / measured layers, rates by the inverse", "whole_model"),
    (r" \(whole (?P<model>\d+)-layer model derived from (?P<measured>\d+)\)", "curve_derived"),
    (r"(?P<p>\d+) in / (?P<n>\d+) out", "curve"),
    (rf">= (?P<x>{_N}) tokens/s per user", "slo_user"),
    (r"^the report$", "the_report"),
    # The report's own notes and assumptions (report.tables).
    (
        r"not applied: they limit a contract's total, not the cost of a unit of work",
        "sweep_caps",
    ),
    (r"not costed, their verdict is invalid: ", "not_costed_invalid"),
    (r"the run's file says (?P<state>\w+): it may be partial", "partial"),
    (rf"not costed: (?P<why>[^;]+); give (?P<flag>--price) (?P<id>{_ID})=AMOUNT", "no_rent"),
    (rf"profile (?P<id>{_ID}) has no rent", "profile_no_rent"),
    (r"^no profile$", "no_profile"),
    (r"no serving curve: ", "no_curve"),
    (r"serving curve not costed: ", "curve_not_costed"),
)

# Every message key this module uses (the tests check each catalogue has them all).
KEYS = tuple(key for _, key in _PHRASES)


def core_text(text: str, m: Messages = ENGLISH) -> str:
    """`text` (an assumption's value or source, a warning, a note, a job) in the reader's
    language: each known phrase translated, its figures and ids kept as they are."""
    if m.lang == "en" or not text:
        return text
    for pattern, key in _compiled():
        text = pattern.sub(lambda g, key=key: m(f"core.{key}", **g.groupdict()), text)
    return text


@functools.cache
def _compiled() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The phrases compiled on the first text translated: an English answer never needs them,
    and compiling 99 patterns was 6 ms of `cost`'s 130 ms over its baseline."""
    return tuple((re.compile(p), key) for p, key in _PHRASES)
