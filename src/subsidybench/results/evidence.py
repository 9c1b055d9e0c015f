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

import json
import math
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
from subsidybench.results.manifest import (
    MANIFEST,
    Manifest,
    Problem,
    Role,
    member_problem,
    sha256,
)
from subsidybench.results.record import RunResult, WorkloadResult, load_run
from subsidybench.results.scaling import (
    BUS_BANDWIDTH_METRIC,
    COLLECTIVE_FAMILY,
    WORLD_SIZE,
    Collective,
    bus_bandwidth,
)
from subsidybench.results.trust import not_device_figures, verdict_of
from subsidybench.timing import Verdict
from subsidybench.work import Work

# Limits on what a bundle may hold. A claim's run files are tens to hundreds of KiB each and its
# report a few MiB; these leave room for hundreds of runs and refuse a zip bomb before it inflates.
MAX_BUNDLE_BYTES = 512 << 20
MAX_MEMBERS = 2000
MAX_MEMBER_BYTES = 64 << 20
MAX_TOTAL_BYTES = 512 << 20
# The compression methods Python's zipfile reads (the stdlib's zlib, bz2 and lzma); a member
# packed by another (zstd, deflate64) is refused by name before it is opened.
_READABLE = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}

# Figures are recomputed with the same numpy calls that wrote them, so they agree to the last
# bit on one machine; a file from another numpy may differ in the last few bits of a mean.
REL_TOLERANCE = 1e-9


def read_bundle(path: Path) -> dict[str, bytes]:
    """Every file member of the zip at `path`, by name, read in memory within the limits.

    Refuses (UserError) unsafe names, links, encrypted or duplicate members, and bundles past the
    limits, before reading any member's contents.
    """
    try:
        info = path.stat()
    except OSError as e:
        raise UserError(f"{path}: {e.strerror}") from None
    # Checked before opening: opening a FIFO waits for a writer, and /dev/zero never ends.
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"{path}: not a regular file (a directory, FIFO or device)")
    size = info.st_size
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
            if info.compress_type not in _READABLE:
                raise UserError(
                    f"{path}: member {info.filename!r} refused: compression method "
                    f"{info.compress_type}, which this Python cannot read"
                )
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
            except (zipfile.BadZipFile, OSError, EOFError) as e:
                raise UserError(f"{path}: member {info.filename!r} unreadable: {e}") from None
            if len(data) > MAX_MEMBER_BYTES:
                raise UserError(
                    f"{path}: member {info.filename!r} larger than {MAX_MEMBER_BYTES:,}"
                )
            out[info.filename] = data
        return out


@dataclass(frozen=True, slots=True)
class Verification:
    manifest: Manifest
    problems: tuple[Problem, ...]
    hashes_checked: int
    runs_loaded: int
    figures_recomputed: int
    unchecked: tuple[str, ...] = ()
    """What verifying could not recompute (checked by its hash only), and why."""
    not_device: tuple[str, ...] = ()
    """Bundled results that are not device figures (a test hook, an emulated dtype)."""

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
    member: str, raw: Mapping[str, Any], r: WorkloadResult, method: int
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
    # The verdict the file stores, not the loader's: the loader may have judged it again.
    stored_verdict = raw.get("verdict")
    if isinstance(stored_verdict, Mapping) and r.verdict is not None and r.policy is not None:
        # One rule on the stored figures (results.trust); a file from before the result stored
        # whether the host's load counted may have been judged either way.
        count += 1
        judged = (True, False) if r.host_load_judged is None else (r.host_load_judged,)
        options = {verdict_of(m, r.policy, r.foreign_cpu, h, method) for h in judged}
        reasons = stored_verdict.get("reasons")
        stored = Verdict(
            stored_verdict.get("valid") is True, tuple(reasons) if isinstance(reasons, list) else ()
        )
        if stored not in options:
            problems.append(
                Problem(
                    member,
                    f"{r.id}: verdict is {stored!s}, the raw samples give "
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


WorkCheck = Callable[[WorkloadResult], Work | None]
"""A result's work per step made again from its workload and parameters (None: not a workload
this subsidybench knows)."""
ReportCheck = Callable[[Mapping[str, bytes], Manifest], tuple[list[Problem], list[str]]]
"""(problems, what could not be remade) of the bundle's report made again from its runs."""


def _work_problems(member: str, run: RunResult, check_work: WorkCheck) -> tuple[list[Problem], int]:
    problems, count = [], 0
    for r in run.results:
        if not r.ok or r.work is None:
            continue
        again = check_work(r)
        if again is None:
            continue
        count += 1
        for name in ("flops", "bytes", "items"):
            stored = getattr(r.work, name)
            if not _close(stored, getattr(again, name)):
                problems.append(
                    Problem(
                        member,
                        f"{r.id}: work.{name} per step is {stored:g}; {r.workload} with these"
                        f" parameters does {getattr(again, name):g}",
                    )
                )
    return problems, count


def verify_members(
    members: Mapping[str, bytes],
    source: str,
    check_catalogue: CatalogueCheck = _toml_problem,
    check_work: WorkCheck | None = None,
    check_report: ReportCheck | None = None,
) -> Verification:
    """Check a bundle already read by `read_bundle`; `source` names it in messages.

    `check_catalogue` reads each catalogue file; the default only parses it as TOML (the
    catalogue's own readers sit in a later stage: report.evidence_bundle passes them in, with
    `check_work` and `check_report`, which make each result's work and the report again).
    What is not made again is listed in `unchecked`: it is checked by its hash only.
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
    unchecked: list[str] = []
    not_device: list[str] = []
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
                    found, n = _figure_problems(entry.path, raw_result, result, run.method_version)
                    problems.extend(found)
                    figures += n
                if check_work is not None:
                    found, n = _work_problems(entry.path, run, check_work)
                    problems.extend(found)
                    figures += n
                not_device.extend(f"{entry.path}: {why}" for why in not_device_figures(run))
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
    if not runs:
        problems.append(Problem(MANIFEST, "no run file loads: a bundle of no run proves nothing"))
    if check_work is None:
        unchecked.append("each result's work per step (not made again from its workload)")
    reports = sorted(e.path for e in manifest.files if e.role == Role.REPORT)
    if check_report is None or manifest.report is None:
        if reports:
            why = "made before bundles said how" if manifest.report is None else "not remade"
            unchecked.append(f"the report ({why}): {', '.join(reports)}")
    elif runs and not any(p.member != MANIFEST for p in problems):
        found, left = check_report(members, manifest)
        problems.extend(found)
        unchecked.extend(left)
    return Verification(
        manifest, tuple(problems), hashes, runs, figures, tuple(unchecked), tuple(not_device)
    )


def verify_bundle(
    path: Path,
    check_catalogue: CatalogueCheck = _toml_problem,
    check_work: WorkCheck | None = None,
    check_report: ReportCheck | None = None,
) -> Verification:
    """Read the bundle at `path` safely and verify it."""
    return verify_members(read_bundle(path), str(path), check_catalogue, check_work, check_report)
