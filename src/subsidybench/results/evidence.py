"""Evidence bundles for a subsidy claim: the manifest, reading a bundle safely, verifying it.

A bundle is a zip of the run files (raw samples included), each run's environment, the report
(md, html, xlsx, csv), the catalogue files the costing used, and `manifest.json`, which lists
every other member with its SHA-256 and size. `report.evidence_bundle` writes one.

Verifying reads a bundle in memory, member by member with size limits, and never extracts it,
executes it or unpickles anything in it. It checks that every member is where the manifest says
with the hash it says, that every run file loads and validates as `load_run` reads it, and
recomputes every figure a run file stores beside its raw samples (the statistics, throughput,
verdict and collective bus bandwidth), naming any that does not match. A manifest can be
rewritten by whoever edits a file, so the hashes show only that nothing changed after bundling;
the recomputation shows that the stored figures follow from the samples. Neither shows that the
samples are what a device measured: that needs the run to be taken again. Torch-free.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import stat
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from subsidybench.datafile import Fields
from subsidybench.errors import UserError
from subsidybench.results.context import Environment
from subsidybench.results.record import RunResult, WorkloadResult, load_run
from subsidybench.results.scaling import (
    BUS_BANDWIDTH_METRIC,
    COLLECTIVE_FAMILY,
    WORLD_SIZE,
    Collective,
    bus_bandwidth,
)
from subsidybench.timing import judge

# The manifest's format. History:
#   1: format, schema_version, toolkit_version, created, subsidy, files [{path, role, sha256,
#      bytes}].
MANIFEST_VERSION = 1
FORMAT = "subsidybench-evidence"
MANIFEST = "manifest.json"


class Role:
    """What a member of the bundle is (a plain namespace: the manifest stores the strings)."""

    RUN = "run"
    ENVIRONMENT = "environment"
    REPORT = "report"
    PROFILE = "profile"
    PROGRAMME = "programme"
    FX = "fx"


ROLES = {Role.RUN, Role.ENVIRONMENT, Role.REPORT, Role.PROFILE, Role.PROGRAMME, Role.FX}

# Limits on what a bundle may hold. A claim's run files are tens to hundreds of KiB each and its
# report a few MiB; these leave room for hundreds of runs and refuse a zip bomb before it inflates.
MAX_BUNDLE_BYTES = 512 << 20
MAX_MEMBERS = 2000
MAX_MEMBER_BYTES = 64 << 20
MAX_TOTAL_BYTES = 512 << 20

# Figures are recomputed with the same numpy calls that wrote them, so they agree to the last
# bit on one machine; a file from another numpy may differ in the last few bits of a mean.
REL_TOLERANCE = 1e-9

_SAFE_PART = re.compile(r"^[A-Za-z0-9._+-]+$")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def member_problem(name: str) -> str | None:
    """Why `name` may not be a member of a bundle, or None: only plain relative paths of plain
    characters, nothing that could leave a directory it were extracted into."""
    if not name or name.startswith(("/", "\\")) or "\\" in name:
        return "an absolute path or a backslash"
    parts = name.rstrip("/").split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "a path with '..', '.' or an empty part"
    if ":" in parts[0] or any(not _SAFE_PART.match(p) for p in parts):
        return "characters other than letters, digits and . _ + -"
    return None


def read_bundle(path: Path) -> dict[str, bytes]:
    """Every file member of the zip at `path`, by name, read in memory within the limits.

    Refuses (UserError) unsafe names, links, encrypted or duplicate members, and bundles past the
    limits, before reading any member's contents.
    """
    try:
        size = path.stat().st_size
    except OSError as e:
        raise UserError(f"{path}: {e.strerror}") from None
    if size > MAX_BUNDLE_BYTES:
        raise UserError(
            f"{path}: {size:,} bytes, larger than a bundle may be ({MAX_BUNDLE_BYTES:,})"
        )
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise UserError(f"{path}: not a readable zip file: {e}") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise UserError(f"{path}: {len(infos)} members, more than {MAX_MEMBERS}")
        seen: set[str] = set()
        declared = 0
        for info in infos:
            why = member_problem(info.filename)
            if why:
                raise UserError(f"{path}: member {info.filename!r} refused: {why}")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise UserError(f"{path}: member {info.filename!r} refused: a symbolic link")
            if info.flag_bits & 0x1:
                raise UserError(f"{path}: member {info.filename!r} refused: encrypted")
            if info.filename in seen:
                raise UserError(f"{path}: member {info.filename!r} appears twice")
            seen.add(info.filename)
            declared += info.file_size
        if declared > MAX_TOTAL_BYTES:
            raise UserError(f"{path}: members total {declared:,} bytes, over {MAX_TOTAL_BYTES:,}")
        out: dict[str, bytes] = {}
        for info in infos:
            if info.is_dir():
                continue
            try:
                with zf.open(info) as f:
                    # Read one byte past the limit: a header may understate the size.
                    data = f.read(MAX_MEMBER_BYTES + 1)
            # zipfile itself raises NotImplementedError for a compression method it lacks: a
            # bundle made elsewhere is then unreadable here, which is the user's to know.
            except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError) as e:
                raise UserError(f"{path}: member {info.filename!r} unreadable: {e}") from None
            if len(data) > MAX_MEMBER_BYTES:
                raise UserError(
                    f"{path}: member {info.filename!r} larger than {MAX_MEMBER_BYTES:,}"
                )
            out[info.filename] = data
        return out


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    path: str
    role: str
    sha256: str
    bytes: int

    def __post_init__(self) -> None:
        if why := member_problem(self.path):
            raise ValueError(f"path {self.path!r}: {why}")
        if self.role not in ROLES:
            raise ValueError(f"role {self.role!r} is not one of: {', '.join(sorted(ROLES))}")
        if not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise ValueError("sha256 must be 64 lower-case hex digits")
        if self.bytes < 0:
            raise ValueError("bytes must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "role": self.role, "sha256": self.sha256, "bytes": self.bytes}


@dataclass(frozen=True, slots=True)
class Manifest:
    toolkit_version: str
    created: str
    files: tuple[ManifestEntry, ...]
    subsidy: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "schema_version": MANIFEST_VERSION,
            "toolkit_version": self.toolkit_version,
            "created": self.created,
            "subsidy": self.subsidy,
            "files": [e.to_dict() for e in self.files],
        }

    @classmethod
    def from_dict(cls, data: object, source: str) -> Manifest:
        f = Fields(data, source)
        f.reject_unknown(
            {"format", "schema_version", "toolkit_version", "created", "subsidy"} | {"files"}
        )
        if f.str("format") != FORMAT:
            raise f.error("format", f"expected {FORMAT!r}")
        version = f.int("schema_version")
        if version != MANIFEST_VERSION:
            raise f.error(
                "schema_version", f"{version}: this subsidybench reads {MANIFEST_VERSION}"
            )
        entries = []
        for e in f.tables("files"):
            e.reject_unknown({"path", "role", "sha256", "bytes"})
            try:
                entries.append(
                    ManifestEntry(e.str("path"), e.str("role"), e.str("sha256"), e.int("bytes"))
                )
            except ValueError as err:
                raise UserError(f"{source}: {e.prefix.rstrip('.')}: {err}") from None
        return cls(
            f.str("toolkit_version"), f.str("created"), tuple(entries), f.str("subsidy", None)
        )


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing that does not verify: which member, where in it, and what."""

    member: str
    message: str

    def __str__(self) -> str:
        return f"{self.member}: {self.message}"


@dataclass(frozen=True, slots=True)
class Verification:
    manifest: Manifest
    problems: tuple[Problem, ...]
    hashes_checked: int
    runs_loaded: int
    figures_recomputed: int

    @property
    def ok(self) -> bool:
        return not self.problems


def _close(stored: object, computed: float | int | None) -> bool:
    if computed is None or stored is None:
        return stored is None and computed is None
    if isinstance(stored, bool) or not isinstance(stored, int | float):
        return False
    return math.isclose(float(stored), float(computed), rel_tol=REL_TOLERANCE, abs_tol=0.0)


def _figure_problems(
    member: str, raw: Mapping[str, Any], r: WorkloadResult
) -> tuple[list[Problem], int]:
    """Stored figures of one result against the same figures recomputed from its raw samples."""
    problems: list[Problem] = []
    count = 0
    m = r.measurement
    if m is None:
        return problems, count

    def check(field: str, stored: object, computed: float | int | None) -> None:
        nonlocal count
        count += 1
        if not _close(stored, computed):
            problems.append(
                Problem(member, f"{r.id}: {field} is {stored!r}, the raw samples give {computed!r}")
            )

    stats = raw.get("measurement", {}).get("statistics")
    if isinstance(stats, Mapping):
        computed = m.statistics()
        for key, stored in stats.items():
            if key not in computed:
                problems.append(
                    Problem(member, f"{r.id}: statistics.{key} is not a known statistic")
                )
                continue
            check(f"statistics.{key}", stored, computed[key])
    through = raw.get("throughput")
    if isinstance(through, Mapping) and r.work is not None:
        # Rates divide by the rounds' geometric mean since method 3, by the pooled median
        # before (results/trust.py): a stored rate may agree with either.
        w = r.work
        for key, amount in (
            ("flops_per_s", w.flops),
            ("bytes_per_s", w.bytes),
            ("items_per_s", w.items),
        ):
            if key in through:
                by_median = amount / m.median
                agrees = _close(through[key], by_median)
                check(f"throughput.{key}", through[key], by_median if agrees else amount / m.centre)
    if r.verdict is not None and r.policy is not None:
        # The runner judges a CPU run alone with the host's load and a group without it: the
        # stored verdict must be one of the two the samples and policy give.
        count += 1
        options = {judge(m, r.policy, None), judge(m, r.policy, r.foreign_cpu)}
        if r.verdict not in options:
            problems.append(
                Problem(
                    member,
                    f"{r.id}: verdict is {r.verdict!s}, the raw samples give "
                    + " or ".join(str(v) for v in options),
                )
            )
    if BUS_BANDWIDTH_METRIC in r.metrics and r.family == COLLECTIVE_FAMILY and r.work:
        ops = {c.value: c for c in Collective}
        if r.workload in ops and WORLD_SIZE in r.params:
            busbw = bus_bandwidth(
                ops[r.workload], r.work.bytes, m.median, int(r.params[WORLD_SIZE])
            )
            check(f"metrics.{BUS_BANDWIDTH_METRIC}", r.metrics[BUS_BANDWIDTH_METRIC], busbw)
    return problems, count


def _load_run(member: str, data: bytes, tmp: Path) -> RunResult:
    # load_run reads a path: the bytes already checked go to a file of our own naming in a
    # private directory, and messages name the member instead of it.
    path = tmp / "run.json"
    path.write_bytes(data)
    try:
        return load_run(path)
    except UserError as e:
        raise UserError(str(e).replace(str(path), member)) from None
    except RecursionError:  # JSON nested thousands deep: no run file is
        raise UserError(f"{member}: JSON nested too deeply") from None
    finally:
        path.unlink(missing_ok=True)


CatalogueCheck = Callable[[str, str, bytes], "str | None"]
"""(member, role, contents) -> why the catalogue file does not read, or None."""


def _toml_problem(member: str, role: str, data: bytes) -> str | None:
    try:
        tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        return f"not valid TOML: {e}"
    return None


def verify_members(
    members: Mapping[str, bytes], source: str, check_catalogue: CatalogueCheck = _toml_problem
) -> Verification:
    """Check a bundle already read by `read_bundle`; `source` names it in messages.

    `check_catalogue` reads each catalogue file; the default only parses it as TOML (the
    catalogue's own readers sit in a later stage: report.evidence_bundle passes them in).
    """
    if MANIFEST not in members:
        raise UserError(f"{source}: no {MANIFEST}: not an evidence bundle")
    try:
        doc = json.loads(members[MANIFEST])
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise UserError(f"{source}: {MANIFEST}: not valid JSON: {e}") from None
    manifest = Manifest.from_dict(doc, f"{source}: {MANIFEST}")
    problems: list[Problem] = []
    listed = {e.path for e in manifest.files}
    for name in sorted(set(members) - listed - {MANIFEST}):
        problems.append(Problem(name, "in the bundle but not in the manifest"))
    hashes = runs = figures = 0
    run_environments: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="subsidybench-verify-") as tmpdir:
        tmp = Path(tmpdir)
        for entry in manifest.files:
            data = members.get(entry.path)
            if data is None:
                problems.append(Problem(entry.path, "in the manifest but not in the bundle"))
                continue
            hashes += 1
            if len(data) != entry.bytes or sha256(data) != entry.sha256:
                problems.append(
                    Problem(
                        entry.path,
                        f"SHA-256 {sha256(data)[:16]}... ({len(data):,} bytes) does not"
                        f" match the manifest's {entry.sha256[:16]}... ({entry.bytes:,} bytes)",
                    )
                )
            if entry.role == Role.RUN:
                try:
                    run = _load_run(entry.path, data, tmp)
                except UserError as e:
                    problems.append(Problem(entry.path, f"does not load: {e}"))
                    continue
                runs += 1
                raw = json.loads(data)
                run_environments[Path(entry.path).stem] = raw.get("environment")
                for raw_result, result in zip(raw.get("results", []), run.results, strict=True):
                    found, n = _figure_problems(entry.path, raw_result, result)
                    problems.extend(found)
                    figures += n
            elif entry.role in (Role.PROFILE, Role.PROGRAMME, Role.FX) and (
                why := check_catalogue(entry.path, entry.role, data)
            ):
                problems.append(Problem(entry.path, why))
        for entry in manifest.files:
            if entry.role != Role.ENVIRONMENT or entry.path not in members:
                continue
            stem = Path(entry.path).stem
            try:
                env = json.loads(members[entry.path])
                Environment.from_fields(Fields(env, entry.path))
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, UserError) as e:
                problems.append(Problem(entry.path, f"not a valid environment: {e}"))
                continue
            if stem in run_environments and env != run_environments[stem]:
                problems.append(Problem(entry.path, f"differs from the environment in run {stem}"))
    return Verification(manifest, tuple(problems), hashes, runs, figures)


def verify_bundle(path: Path, check_catalogue: CatalogueCheck = _toml_problem) -> Verification:
    """Read the bundle at `path` safely and verify it."""
    return verify_members(read_bundle(path), str(path), check_catalogue)
