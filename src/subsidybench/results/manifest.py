"""An evidence bundle's manifest: what each member is, its hash, and how the report was made.

Torch-free; results.evidence reads and verifies bundles, report.evidence_bundle writes them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from subsidybench.datafile import Fields
from subsidybench.errors import UserError

# The manifest's format. History:
#   1: format, schema_version, toolkit_version, created, subsidy, files [{path, role, sha256,
#      bytes}].
#   2: and "report": how the report was made (prices, currency, each run's label and file
#      name), so that verifying makes it again from the runs. A version-1 bundle's report is
#      checked by its hash only.
MANIFEST_VERSION = 2
READS = (1, 2)
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
class ReportRun:
    """A bundled run as the report named it."""

    member: str
    label: str
    file: str
    """The run file's name when bundled (the runs table shows it)."""


@dataclass(frozen=True, slots=True)
class ReportMade:
    """How the bundle's report was made: enough to make it again from the bundled files."""

    prices: tuple[str, ...]
    currency: str | None
    runs: tuple[ReportRun, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "prices": list(self.prices),
            "currency": self.currency,
            "runs": [{"member": r.member, "label": r.label, "file": r.file} for r in self.runs],
        }

    @classmethod
    def from_fields(cls, f: Fields) -> ReportMade:
        f.reject_unknown({"prices", "currency", "runs"})
        runs = []
        for r in f.tables("runs"):
            r.reject_unknown({"member", "label", "file"})
            runs.append(ReportRun(r.str("member"), r.str("label"), r.str("file")))
        prices = f.list("prices")
        if not all(isinstance(p, str) for p in prices):
            raise f.error("prices", "expected a list of texts")
        return cls(tuple(prices), f.str("currency", None), tuple(runs))


@dataclass(frozen=True, slots=True)
class Manifest:
    toolkit_version: str
    created: str
    files: tuple[ManifestEntry, ...]
    subsidy: str | None = None
    report: ReportMade | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {
            "format": FORMAT,
            "schema_version": MANIFEST_VERSION,
            "toolkit_version": self.toolkit_version,
            "created": self.created,
            "subsidy": self.subsidy,
            "files": [e.to_dict() for e in self.files],
        }
        if self.report is not None:
            d["report"] = self.report.to_dict()
        return d

    @classmethod
    def from_dict(cls, data: object, source: str) -> Manifest:
        f = Fields(data, source)
        f.reject_unknown(
            {"format", "schema_version", "toolkit_version", "created", "subsidy"}
            | {"files", "report"}
        )
        if f.str("format") != FORMAT:
            raise f.error("format", f"expected {FORMAT!r}")
        version = f.int("schema_version")
        if version not in READS:
            raise f.error(
                "schema_version", f"{version}: this subsidybench reads {', '.join(map(str, READS))}"
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
        report = ReportMade.from_fields(f.table("report")) if f.has("report") else None
        return cls(
            f.str("toolkit_version"),
            f.str("created"),
            tuple(entries),
            f.str("subsidy", None),
            report,
        )


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing that does not verify: which member, where in it, and what."""

    member: str
    message: str

    def __str__(self) -> str:
        return f"{self.member}: {self.message}"
