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
import os
import re
import tempfile
import tomllib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from subsidybench import __version__
from subsidybench.catalogue import paths as catalogue
from subsidybench.errors import UserError
from subsidybench.report.files import write_report
from subsidybench.report.tables import ReportOptions, build_report, label_runs, parse_price
from subsidybench.results.evidence import (
    MANIFEST,
    Manifest,
    ManifestEntry,
    Role,
    member_problem,
    sha256,
)


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
) -> Bundle:
    """Bundle `run_paths`, their report (priced as `prices`, the report's --price texts, else at
    the profiles' rents; costed under `subsidy` if given) and catalogue files.

    Refuses to replace an existing `out`: a bundle filed with a claim is not overwritten.
    """
    if out.exists():
        raise UserError(
            f"--out: {out} exists; give another name (a filed bundle is never replaced)"
        )
    if out.suffix.lower() != ".zip":
        raise UserError(f"--out: {out}: a bundle is a .zip file")
    runs = label_runs(list(run_paths))
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
    notes = list(report.notes)
    members: list[tuple[str, str, bytes]] = []
    names: set[str] = set()
    for lr in runs:
        stem = _safe_name(lr.label)
        while stem in names:
            stem += "_"
        names.add(stem)
        members.append((f"runs/{stem}.json", Role.RUN, Path(lr.path).read_bytes()))
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
    )
    _write_zip(out, [(MANIFEST, _manifest_bytes(manifest))] + [(m, d) for m, _, d in members])
    return Bundle(out, manifest, tuple(notes))


def _manifest_bytes(manifest: Manifest) -> bytes:
    return (json.dumps(manifest.to_dict(), indent=2, allow_nan=False) + "\n").encode()


def _write_zip(out: Path, members: Sequence[tuple[str, bytes]]) -> None:
    """Write atomically: a crash leaves no half bundle under the final name."""
    if out.parent and not out.parent.is_dir():
        raise UserError(f"--out: {out.parent} is not a directory")
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members:
                zf.writestr(name, data)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
