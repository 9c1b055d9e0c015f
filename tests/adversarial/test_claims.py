"""Claims that must not be fooled (issue 31): acceptance, evidence bundles, catalogue checks.

Each case is a hostile or careless use whose wrong answer exits 0 and looks fine: the runs
pooled twice, a bundle edited and rehashed, a peak lowered, a price from the future. Beside the
rule every outcome follows (hostile.classify), each case states what the right answer is, and
an answer that breaks it counts as "silently-wrong" (or "lost-data", "hang", "traceback").
Acceptance and evidence come first: a contract or a subsidy claim rests on them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile import DATA, PROFILES, ROOT, Outcome, classify, invoke, invoke_bounded, record

RUN = DATA / "ci-v3-quiet-run.json"
MATMUL = "matmul[n=1024,m=1024,k=1024]/fp32"
HOOK = (
    "planted slowdown of 10% (SUBSIDYBENCH_PLANTED_SLOWDOWN): a test hook, not the device's figure"
)
# Buyer's doubt: one run's 39 samples cannot show this promise met; pooled twice they would.
BUYER = """contract = "repeats"
confidence = 0.95
benefit_of_doubt = "buyer"
[[clause]]
figure = "matmul_tflops"
dtype = "fp32"
min = 0.3307
"""
MFU = """contract = "mfu"
confidence = 0.95
benefit_of_doubt = "supplier"
[[clause]]
figure = "gpt_train_mfu"
dtype = "fp32"
min = 0.9
workload = "gpt_train"
"""

Expect = Callable[[int, str, str], "str | None"]
"""(exit code, stdout, stderr) -> what is wrong with the answer, or None."""


def _tmp() -> Path:
    return Path(tempfile.mkdtemp(prefix="claims-"))


def claim(label: str, args: list[str], cwd: Path, expect: Expect, kind: str = "silently-wrong"):
    """Run one command; judge it by the common rule, then by what the right answer is."""
    code, out, err, exc = invoke(args, cwd)
    outcome = classify(code, out, err, exc)
    if outcome.kind == "clean" and (why := expect(code, out, err)):
        outcome = Outcome(kind, why)
    record(f"{label}: {' '.join(args)}", outcome)
    return code, out, err


def exits(want: int, saying: str = "") -> Expect:
    def expect(code: int, out: str, err: str) -> str | None:
        if code != want:
            return f"exit {code}, not {want}: {(err or out)[-200:]}"
        if saying and not re.search(saying, out + err, re.I | re.S):
            return f"does not say /{saying}/: {(err or out)[-200:]}"
        return None

    return expect


def edited_run(d: Path, name: str, edit: Callable[[dict], None]) -> Path:
    doc = json.loads(RUN.read_text())
    edit(doc)
    path = d / name
    path.write_text(json.dumps(doc, indent=2))
    return path


def _hooked(doc: dict) -> None:
    for r in doc["results"]:
        if r["id"] == MATMUL:
            r["reason"] = HOOK


def _double_work(doc: dict) -> None:
    for r in doc["results"]:
        if r["id"] == MATMUL:
            r["work"]["flops"] *= 2
            r["throughput"]["flops_per_s"] *= 2


def _lower_peak(doc: dict) -> None:
    doc["peak_tflops"]["fp32"]["value"] *= 0.15


# --- acceptance: a run counted once, whatever names it ------------------------------------------


def test_accept_counts_a_run_once() -> None:
    d = _tmp()
    (d / "c.toml").write_text(BUYER)
    shutil.copy(RUN, d / "run.json")
    shutil.copy(RUN, d / "copy.json")
    (d / "link.json").symlink_to(d / "run.json")
    os.link(d / "run.json", d / "hard.json")
    once = exits(3)
    claim("accept once", ["accept", "c.toml", "run.json"], d, once)
    for names in (
        ["run.json", "run.json"],
        ["run.json", "copy.json"],
        ["run.json", "link.json"],
        ["run.json", "hard.json"],
        ["run.json", "run.json", "run.json", "copy.json"],
        [str(d / "run.json"), "run.json"],
    ):
        claim("accept repeats", ["accept", "c.toml", *names], d, exits(3, "counted once"))


def test_evidence_bundles_a_run_once() -> None:
    d = _tmp()
    shutil.copy(RUN, d / "run.json")
    shutil.copy(RUN, d / "copy.json")

    def one_run(code: int, out: str, err: str) -> str | None:
        if code != 0:
            return f"exit {code}: {err[-200:]}"
        runs = [n for n in zipfile.ZipFile(d / "b.zip").namelist() if n.startswith("runs/")]
        return None if len(runs) == 1 else f"{len(runs)} run members for one run"

    claim("evidence repeats", ["evidence", "run.json", "copy.json", "--out", "b.zip"], d, one_run)


# --- evidence: verify checks what it says, and says what it cannot ------------------------------


def _rehashed(src: Path, out: Path, edit: Callable[[dict[str, bytes], dict], None]) -> Path:
    """`src` with its members edited and the manifest's hashes rewritten to match."""
    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    manifest = json.loads(members.pop("manifest.json"))
    edit(members, manifest)
    manifest["files"] = [f for f in manifest["files"] if f["path"] in members]
    for f in manifest["files"]:
        f["sha256"] = hashlib.sha256(members[f["path"]]).hexdigest()
        f["bytes"] = len(members[f["path"]])
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("manifest.json", json.dumps(manifest))
        for name, data in members.items():
            z.writestr(name, data)
    return out


def _edit_runs(edit: Callable[[dict], None]) -> Callable[[dict[str, bytes], dict], None]:
    def apply(members: dict[str, bytes], manifest: dict) -> None:
        for name in [n for n in members if n.startswith("runs/")]:
            doc = json.loads(members[name])
            edit(doc)
            members[name] = json.dumps(doc, indent=2).encode()

    return apply


def _report(suffix: str) -> Callable[[dict[str, bytes], dict], None]:
    def apply(members: dict[str, bytes], manifest: dict) -> None:
        for name in [n for n in members if n.endswith(suffix)]:
            members[name] = members[name].replace(b"0", b"9", 1)

    return apply


def _drop(prefixes: tuple[str, ...]) -> Callable[[dict[str, bytes], dict], None]:
    def apply(members: dict[str, bytes], manifest: dict) -> None:
        for name in [n for n in members if n.startswith(prefixes)]:
            del members[name]

    return apply


def _bytes_of_copy(doc: dict) -> None:
    for r in doc["results"]:
        if r["workload"] == "copy":
            r["work"]["bytes"] *= 2
            r["throughput"]["bytes_per_s"] *= 2


TAMPERING = {
    "report md edited": _report(".md"),
    "report csv edited": _report("results.csv"),
    "assumptions edited": _report("assumptions.csv"),
    "every run dropped": _drop(("runs/", "environment/")),
    "runs dropped, report kept": _drop(("runs/",)),
    "matmul work doubled with its rate": _edit_runs(_double_work),
    "copy bytes doubled with its rate": _edit_runs(_bytes_of_copy),
}


@pytest.fixture(scope="module")
def bundle() -> Path:
    d = _tmp()
    shutil.copy(RUN, d / "run.json")
    code, _out, err, _exc = invoke(
        ["evidence", "run.json", "--out", "b.zip", "--price", "2", "--currency", "USD"], d
    )
    assert code == 0, err
    return d / "b.zip"


def test_verify_an_untouched_bundle_says_what_it_did_not_check(bundle: Path) -> None:
    honest = exits(0, "not checked.*not signed.*verified")
    claim("verify untouched", ["verify", str(bundle)], bundle.parent, honest)


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_verify_finds_a_rehashed_edit(bundle: Path, how: str) -> None:
    d = _tmp()
    forged = _rehashed(bundle, d / "forged.zip", TAMPERING[how])
    claim(f"verify {how}", ["verify", str(forged)], d, exits(3, "NOT verified"))


# --- figures that cannot be ----------------------------------------------------------------------


def test_impossible_figures_are_not_accepted() -> None:
    d = _tmp()
    (d / "mfu.toml").write_text(MFU)
    (d / "c.toml").write_text(BUYER.replace("buyer", "supplier"))
    low = edited_run(d, "low.json", _lower_peak)
    doubled = edited_run(d, "doubled.json", _double_work)
    claim("accept, peak lowered", ["accept", "mfu.toml", str(low)], d, exits(3))
    claim("accept, work doubled", ["accept", "c.toml", str(doubled)], d, exits(3))
    claim("show, work doubled", ["show", str(doubled)], d, exits(0, r"invalid"))
    for value in ("1.5", "1.2", "2", "1e3"):
        text = (PROFILES / "devices" / "rtx-4090.toml").read_text()
        path = d / f"eff-{value}.toml"
        path.write_text(text.replace("value = 1.082", f"value = {value}"))
        claim(f"efficiency {value}", ["profiles", "validate", str(path)], d, exits(1))


# --- dates --------------------------------------------------------------------------------------

FUTURE_PRICE = """
[[prices]]
kind = "rent_hour"
term = "on-demand"
amount = 0.5
currency = "USD"
date = {date}
basis = "vendor"
source = "a page not yet written"
"""


@pytest.mark.parametrize("date", ["2099-01-01", "2030-06-30", '"2099-12-31"'])
def test_a_price_from_the_future_is_refused(date: str) -> None:
    d = _tmp()
    (d / "devices").mkdir()
    text = (PROFILES / "devices" / "h100-sxm.toml").read_text() + FUTURE_PRICE.format(date=date)
    path = d / "devices" / "h100-sxm.toml"
    path.write_text(text)
    claim("future price", ["profiles", "validate", str(path)], d, exits(1, "future"))
    args = ["cost", "--profile", str(path), "--hours", "10"]
    claim("future price wins the rent", args, d, exits(1, "future"))


def test_dates_in_fx_and_programme_sources_and_catalogue_check() -> None:
    d = _tmp()
    for kind in ("fx", "subsidies"):
        (d / kind).mkdir()
    fx = (PROFILES / "fx" / "usd-cny.toml").read_text()
    (d / "fx" / "usd-cny.toml").write_text(re.sub(r"(?m)^date = .*$", 'date = "2099-01-01"', fx))
    claim("future fx", ["profiles", "validate", str(d / "fx" / "usd-cny.toml")], d, exits(1))
    prog = (PROFILES / "subsidies" / "hangzhou-2024.toml").read_text()
    prog = re.sub(r"(?m)^published = .*$", 'published = "2099-05"', prog)
    (d / "subsidies" / "p.toml").write_text(prog)
    claim("future source", ["profiles", "validate", str(d / "subsidies" / "p.toml")], d, exits(1))
    args = ["catalogue", "check", "--today", "2025-01-01"]
    claim("catalogue check --today", args, d, exits(0, "after 2025-01-01"))


# --- validate: every kind it is given -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name", "pattern", "value"),
    [
        ("subsidies", "hangzhou-2024.toml", r"(?m)^base = .*$", "base = 1.5"),
        ("subsidies", "hangzhou-2024.toml", r"(?m)^base = .*$", "base = nan"),
        ("fx", "usd-cny.toml", r"(?m)^rate = .*$", "rate = nan"),
        ("fx", "usd-cny.toml", r"(?m)^rate = .*$", "rate = -7"),
    ],
)
def test_validate_reads_every_kind(kind: str, name: str, pattern: str, value: str) -> None:
    d = _tmp()
    (d / kind).mkdir()
    text = (PROFILES / kind / name).read_text()
    (d / kind / name).write_text(re.sub(pattern, value, text, count=1))
    claim(f"validate {kind} {value}", ["profiles", "validate", str(d)], d, exits(1))


# --- a test hook is not a device figure (issue 30 item 5) -------------------------------------


def test_a_hooked_run_is_refused_unless_forced() -> None:
    d = _tmp()
    hooked = edited_run(d, "hooked.json", _hooked)
    (d / "c.toml").write_text(BUYER.replace("buyer", "supplier"))
    cost = ["cost", "--run", str(hooked), "--workload", MATMUL, "--hours", "10"]
    cost += ["--price", "2", "--currency", "USD"]
    refused = exits(1, "not a device figure")
    claim("hooked cost", cost, d, refused)
    claim("hooked accept", ["accept", "c.toml", str(hooked)], d, refused)
    claim("hooked evidence", ["evidence", str(hooked), "--out", "h.zip"], d, refused)
    claim("hooked cost --force", [*cost, "--force"], d, exits(0, "FORCED"))
    claim("hooked evidence --force", ["evidence", str(hooked), "--out", "h.zip", "--force"], d,
          exits(0, "FORCED"))  # fmt: skip
    claim("hooked verify", ["verify", "h.zip"], d, exits(0, "NOT A DEVICE FIGURE"))


# --- nothing lost -------------------------------------------------------------------------------


def test_concurrent_bundles_to_one_out_one_wins() -> None:
    d = _tmp()
    shutil.copy(RUN, d / "run.json")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    args = [sys.executable, "-m", "subsidybench", "evidence", "run.json", "--out", "race.zip"]
    procs = [subprocess.Popen(args, cwd=d, env=env, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(4)]  # fmt: skip
    outs = [p.communicate(timeout=900) for p in procs]  # a report each: slow on a busy machine
    wrote = sum("wrote race.zip" in o for o, _ in outs)
    refused = sum(
        p.returncode == 1 and "exists" in e for p, (_, e) in zip(procs, outs, strict=True)
    )
    ok = wrote == 1 and refused == 3
    why = f"{wrote} said they wrote it, {refused} refused"
    record("four evidence --out race.zip", Outcome("clean") if ok else Outcome("lost-data", why))


def test_history_does_not_write_over_the_users_files() -> None:
    d = _tmp()
    site = d / "site"
    site.mkdir()
    (site / "index.html").write_text("mine")
    store = d / "h.sqlite"
    invoke(["store", "add", str(RUN), "--store", str(store)], d)

    def kept(code: int, out: str, err: str) -> str | None:
        return None if (site / "index.html").read_text() == "mine" else "index.html replaced"

    claim("history over a user's dir", ["history", "--out", str(site), "--store", str(store)], d,
          kept, "lost-data")  # fmt: skip
    again = d / "again"
    args = ["history", "--out", str(again), "--store", str(store)]
    claim("history new dir", args, d, exits(0))
    claim("history its own dir again", args, d, exits(0))


@pytest.mark.parametrize(
    "command",
    [
        ["evidence", str(RUN), "--out", "{}/b.zip"],
        ["ingest", str(DATA / "pytest-benchmark-ci.json"), "--out", "{}/x.json"],
        ["store", "add", str(RUN), "--store", "{}/h.sqlite"],
        ["history", "--out", "{}/site", "--store", "{}/h.sqlite"],
    ],
    ids=lambda c: c[0],
)
def test_a_missing_parent_is_refused_not_made(command: list[str]) -> None:
    d = _tmp()
    missing = d / "no" / "such"

    def refused(code: int, out: str, err: str) -> str | None:
        if missing.parent.exists():
            return f"made {missing.parent}"
        return None if code != 0 else "exit 0"

    claim("missing parent", [a.replace("{}", str(missing)) for a in command], d, refused)


# --- never hung, never a traceback ---------------------------------------------------------------


def _bounded(label: str, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        code, out, err = invoke_bounded(args, cwd)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if code == -1:
        outcome = Outcome("hang", err)
    elif "MemoryError" in err:
        outcome = Outcome("traceback", err[-200:])
    else:
        outcome = classify(code, out, err, None)
    record(f"{label}: {' '.join(args)}", outcome)


def test_nothing_hangs() -> None:
    d = _tmp()
    os.mkfifo(d / "fifo.zip")
    _bounded("verify a FIFO", ["verify", str(d / "fifo.zip")], d)
    _bounded("verify /dev/zero", ["verify", "/dev/zero"], d)
    _bounded("verify a directory", ["verify", str(d)], d)
    suite = d / "s.toml"
    suite.write_text(
        'name = "s"\nversion = 1\nbudget_s = 0.01\n[[workloads]]\nname = "copy"\n'
        "params = { mib = 1 }\n"
    )
    run = ["run", "--suite", str(suite), "--device", "cpu", "--out", str(d / "r.json")]
    # In-process (torch is loaded once): the alarm ends a spin that never would.
    claim("rounds", [*run, "--rounds", "100000"], d, exits(2), "hang")
    for factor in ("1e308", "inf", "1e6"):
        os.environ["SUBSIDYBENCH_PLANTED_SLOWDOWN"] = f"copy={factor}"
        try:
            args = [*run[:-1], str(d / f"p{factor}.json")]
            claim(f"planted {factor}", args, d, exits(1, "SUBSIDYBENCH_PLANTED_SLOWDOWN"), "hang")
        finally:
            del os.environ["SUBSIDYBENCH_PLANTED_SLOWDOWN"]
    (d / "rounds.toml").write_text(
        suite.read_text().replace("version = 1", "version = 1\nrounds = 99999")
    )
    args = ["run", "--suite", str(d / "rounds.toml"), "--device", "cpu", "--out", str(d / "x")]
    claim("suite rounds", args, d, exits(1, "rounds"), "hang")


def test_no_traceback() -> None:
    d = _tmp()
    _bounded("huge limit", ["show", str(RUN)], d, {"SUBSIDYBENCH_MAX_FILE_MB": "30000"})
    foreign = d / "foreign.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE runs (x INTEGER)")
    claim(
        "foreign runs table",
        ["store", "query", "--workload", MATMUL, "--store", str(foreign)],
        d,
        exits(1),
    )
    odd = d / "odd.sqlite"
    invoke(["store", "add", str(RUN), "--store", str(odd)], d)
    with sqlite3.connect(odd) as db:
        db.execute("UPDATE meta SET value = 'abc' WHERE key = 'store_version'")
    claim(
        "store_version abc",
        ["store", "query", "--workload", MATMUL, "--store", str(odd)],
        d,
        exits(1),
    )
    twice = edited_run(d, "twice.json", lambda doc: doc["results"].append(doc["results"][0]))
    claim("a result twice", ["store", "add", str(twice), "--store", str(d / "t.sqlite")], d,
          exits(1, "twice"))  # fmt: skip
    claim("a result twice, show", ["show", str(twice)], d, exits(1, "twice"))


# --- wrong-looking ---------------------------------------------------------------------------


def test_answers_that_look_right() -> None:
    d = _tmp()
    yi = ["cost", "--hours", "23333.2", "--price", "2.5", "--currency", "USD", "--units", "yi"]

    def digits(code: int, out: str, err: str) -> str | None:
        return "an amount shown as 0.00" if re.search(r"(?<![\d.])0\.00 亿", out) else None

    claim("units yi", [*yi, "--lang", "zh"], d, digits)
    store = d / "h.sqlite"
    invoke(["store", "add", str(RUN), "--store", str(store)], d)
    for value in ("inf", "nan", "-inf", "1e300"):
        args = ["gate", "--store", str(store), "--threshold", value]
        claim(f"gate --threshold {value}", args, d, exits(2))
    args = ["gate", "--store", str(store), "--threshold", "-5"]
    claim("gate --threshold -5", args, d, exits(2, r"-5(?![\d.]*e)(?!\.0*[1-9])"))
    args = ["history", "--store", str(store), "--out", str(d / "s"), "--min-step", "-5"]
    claim("history --min-step -5", args, d, exits(2, "-5"))

    def named(code: int, out: str, err: str) -> str | None:
        return None if (d / "h?x.sqlite").is_file() and not (d / "h").exists() else "wrote h"

    claim("--store h?x", ["store", "add", str(RUN), "--store", "h?x.sqlite"], d, named)
    for url in ("sqlite://", "sqlite:///:memory:"):
        claim(f"--store {url}", ["store", "add", str(RUN), "--store", url], d, exits(1, "memory"))

    def nothing_written(code: int, out: str, err: str) -> str | None:
        return "wrote the run file" if (d / "i.json").exists() else None

    args = ["ingest", str(DATA / "pytest-benchmark-ci.json"), "--out", "i.json"]
    claim("ingest --time nonsense", [*args, "--store", str(store), "--time", "nonsense"], d,
          nothing_written)  # fmt: skip
