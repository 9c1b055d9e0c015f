"""Write an evidence bundle for a subsidy claim, and read its catalogue files back when verifying.

The bundle (see results.evidence) holds the run files byte for byte, each run's environment on
its own, the report as `subsidybench report` writes it (built by report.tables.build_report,
written by report.files.write_report), the catalogue files the costing used, and the manifest.
Catalogue files: the device profile each run matched (where the catalogue has it), the
programme given, and, when the costing converted money, the exchange-rate files that convert
into the report's currency. Torch-free.
"""

from __future__ import annotations

import json
import re
import tempfile
import tomllib
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from subsidybench import __version__
from subsidybench.catalogue import paths as catalogue
from subsidybench.datafile import read_bytes, write_atomic
from subsidybench.errors import UserError
from subsidybench.report.files import text_files, write_report
from subsidybench.report.tables import (
    LabelledRun,
    ReportOptions,
    build_report,
    label_runs,
    parse_price,
)
from subsidybench.results.manifest import (
    MANIFEST,
    Manifest,
    ManifestEntry,
    Problem,
    ReportMade,
    ReportRun,
    Role,
    member_problem,
    sha256,
)
from subsidybench.results.store_keys import distinct
from subsidybench.results.trust import refuse_not_device


@dataclass(frozen=True, slots=True)
class Bundle:
    """What was written: the zip, its manifest, and notes on what could not be included."""

    path: Path
    manifest: Manifest
    notes: tuple[str, ...]


def _safe_name(text: str) -> str:
    """A label as one member-name part: anything but letters, digits and . _ + - becomes _."""
    name = re.sub(r"[^A-Za-z0-9._+-]", "_", text).strip(".") or "run"
    return name


def _catalogue_files(
    runs_profiles: Sequence[str | None],
    subsidy: str | None,
    currency: str | None,
    dirs: tuple[Path, ...],
    notes: list[str],
) -> list[tuple[str, str, Path]]:
    """(member, role, path) of every catalogue file the costing read."""
    out: list[tuple[str, str, Path]] = []
    for profile in sorted({p for p in runs_profiles if p}):
        try:
            path = catalogue.resolve("devices", profile, dirs)
        except UserError:
            notes.append(f"profile {profile} is not in this catalogue: not included")
            continue
        out.append((f"catalogue/devices/{path.name}", Role.PROFILE, path))
    if subsidy is not None:
        path = catalogue.resolve("subsidies", subsidy, dirs)
        out.append((f"catalogue/subsidies/{path.name}", Role.PROGRAMME, path))
    if currency is not None:
        for stem, path in sorted(catalogue.files("fx", dirs).items()):
            if currency.lower() in stem.split("-"):
                out.append((f"catalogue/fx/{path.name}", Role.FX, path))
    return out


def write_bundle(
    run_paths: Sequence[Path],
    out: Path,
    *,
    subsidy: str | None = None,
    profiles_dirs: tuple[Path, ...] = (),
    created: str | None = None,
    prices: Sequence[str] = (),
    currency: str | None = None,
    force: bool = False,
) -> Bundle:
    """Bundle `run_paths`, their report (priced as `prices`, the report's --price texts, else at
    the profiles' rents; costed under `subsidy` if given) and catalogue files.

    Refuses to replace an existing `out`: a bundle filed with a claim is not overwritten. A run
    given twice (or a copy) is bundled once; results that are not device figures are refused
    unless `force`.
    """
    if out.exists():
        raise UserError(
            f"--out: {out} exists; give another name (a filed bundle is never replaced)"
        )
    if out.suffix.lower() != ".zip":
        raise UserError(f"--out: {out}: a bundle is a .zip file")
    given = (tuple(prices), currency)
    runs, repeats = distinct(label_runs(list(run_paths)), lambda r: r.run, lambda r: r.label)
    forced = refuse_not_device([(r.label, r.run) for r in runs], force)
    programme = None
    if subsidy is not None:
        from subsidybench.catalogue.subsidies import load_programme

        programme = load_programme(subsidy, profiles_dirs)
    created = created or datetime.now(UTC).isoformat(timespec="seconds")
    report = build_report(
        runs,
        ReportOptions(
            prices=tuple(parse_price(p, currency) for p in prices),
            currency=currency,
            programme=programme,
            profiles_dirs=profiles_dirs,
        ),
        generated=created,
    )
    notes = [*repeats, *forced, *report.notes]
    members: list[tuple[str, str, bytes]] = []
    names: set[str] = set()
    made: list[ReportRun] = []
    for lr in runs:
        stem = _safe_name(lr.label)
        while stem in names:
            stem += "_"
        names.add(stem)
        members.append((f"runs/{stem}.json", Role.RUN, read_bytes(Path(lr.path))))
        made.append(ReportRun(f"runs/{stem}.json", lr.label, _safe_name(Path(lr.path).name)))
        env = json.dumps(lr.run.environment.to_dict(), indent=2) + "\n"
        members.append((f"environment/{stem}.json", Role.ENVIRONMENT, env.encode()))
    with tempfile.TemporaryDirectory(prefix="subsidybench-evidence-") as tmp:
        for path in write_report(report, Path(tmp)):
            members.append((f"report/{path.name}", Role.REPORT, path.read_bytes()))
    profiles = [lr.run.profile for lr in runs]
    # An exchange rate file is bundled only when the costing converted money with it, as its
    # assumptions say.
    names = report.assumptions.get("name")
    converted = names is not None and "exchange rate" in set(names)
    currency = report.currency if converted else None
    for member, role, path in _catalogue_files(profiles, subsidy, currency, profiles_dirs, notes):
        members.append((member, role, path.read_bytes()))
    for member, _, _ in members:
        assert member_problem(member) is None, member  # names are built here from safe parts
    manifest = Manifest(
        toolkit_version=__version__,
        created=created,
        subsidy=programme.id if programme else None,
        files=tuple(ManifestEntry(m, role, sha256(data), len(data)) for m, role, data in members),
        report=ReportMade(given[0], given[1], tuple(made)),
    )
    _write_zip(out, [(MANIFEST, _manifest_bytes(manifest))] + [(m, d) for m, _, d in members])
    return Bundle(out, manifest, tuple(notes))


def _manifest_bytes(manifest: Manifest) -> bytes:
    return (json.dumps(manifest.to_dict(), indent=2, allow_nan=False) + "\n").encode()


def _write_zip(out: Path, members: Sequence[tuple[str, bytes]]) -> None:
    """Write atomically and claim `out` exclusively: a crash leaves no half bundle under the
    final name, and of two commands given one --out only the first writes it."""

    def write(path: Path) -> None:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members:
                zf.writestr(name, data)

    write_atomic(out, write, "--out", exclusive=True)


def check_catalogue_file(member: str, role: str, data: bytes) -> str | None:
    """Why a bundled catalogue file does not read as the catalogue reads it, or None.

    Profiles and programmes go through their own readers (a profile's reader takes a path: the
    bytes go to a private temporary file of the member's name); exchange rates are parsed only.
    """
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        return f"not valid TOML: {e}"
    try:
        if role == Role.PROGRAMME:
            from subsidybench.catalogue.subsidies import parse_programme

            parse_programme(parsed, member, Path(member).stem)
        elif role == Role.PROFILE:
            from subsidybench.catalogue.profiles import load_profile

            with tempfile.TemporaryDirectory(prefix="subsidybench-verify-") as tmp:
                path = Path(tmp) / Path(member).name
                path.write_bytes(data)
                try:
                    load_profile(str(path))
                except UserError as e:
                    raise UserError(str(e).replace(str(path), member)) from None
    except UserError as e:
        return f"does not read as a catalogue file: {e}"
    return None


def remade_report(
    members: Mapping[str, bytes], manifest: Manifest
) -> tuple[list[Problem], list[str]]:
    """The bundle's report made again from its runs and catalogue files, as `evidence` made it,
    against the bundled one: (problems, what was not remade)."""
    from subsidybench.catalogue.subsidies import load_programme
    from subsidybench.results.record import load_run

    made = manifest.report
    assert made is not None
    with tempfile.TemporaryDirectory(prefix="subsidybench-verify-") as tmpdir:
        tmp = Path(tmpdir)
        for e in manifest.files:
            if e.role in (Role.PROFILE, Role.PROGRAMME, Role.FX):
                (tmp / e.path).parent.mkdir(parents=True, exist_ok=True)
                (tmp / e.path).write_bytes(members[e.path])
        dirs = (tmp / "catalogue",)
        runs = []
        for i, r in enumerate(made.runs):
            if r.member not in members or "/" in r.file or member_problem(r.file):
                return [Problem(MANIFEST, f"report: run {r.member!r} is not a bundled run")], []
            path = tmp / "runs" / str(i) / r.file
            path.parent.mkdir(parents=True)
            path.write_bytes(members[r.member])
        try:
            for i, r in enumerate(made.runs):
                path = tmp / "runs" / str(i) / r.file
                runs.append(LabelledRun(r.label, str(path), load_run(path)))
            programme = load_programme(manifest.subsidy, dirs) if manifest.subsidy else None
            prices = tuple(parse_price(p, made.currency) for p in made.prices)
            report = build_report(
                runs,
                ReportOptions(prices, programme, currency=made.currency, profiles_dirs=dirs),
                generated=manifest.created,
            )
            texts = text_files(report)
        except UserError as e:
            return [Problem("report", f"cannot be made again from the bundle: {e}")], []
    bundled = {e.path for e in manifest.files if e.role == Role.REPORT}
    problems = [
        Problem(f"report/{name}", "differs from the report the bundled runs and files give")
        for name, text in texts.items()
        if members.get(f"report/{name}") != text.encode()
    ]
    left = sorted(bundled - {f"report/{name}" for name in texts})
    problems += [
        Problem(m, "not a file the report makes") for m in left if m.endswith((".md", ".csv"))
    ]
    hashed = [m for m in left if not m.endswith((".md", ".csv"))]
    return problems, [f"the report's {', '.join(hashed)} (hash only)"] if hashed else []
