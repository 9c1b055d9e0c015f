"""Named suites: which workloads, at which sizes and dtypes, with a version.

A suite is data (a TOML file beside this module): a fixed list of workloads whose figures mean
the same thing on every device. Its version goes into every run result, so results of different
suite versions are never silently compared.

Imports only the vocabulary modules; torch-free.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from subsidybench import bounds
from subsidybench.datafile import Fields, read_toml
from subsidybench.dtypes import DType
from subsidybench.errors import UserError

_DIR = Path(__file__).resolve().parent
_DTYPES = {d.value: d for d in DType}
MAX_GRID = 64
"""Most workloads one entry's `grid` may expand to: a sweep must stay bounded in time."""


@dataclass(frozen=True, slots=True)
class SuiteEntry:
    """One workload of a suite: its name, sizes, the dtypes it runs at and its time budget."""

    workload: str
    params: dict[str, int | float | str]
    dtypes: tuple[DType, ...]
    budget_s: float


@dataclass(frozen=True, slots=True)
class Suite:
    name: str
    version: int
    description: str
    entries: tuple[SuiteEntry, ...]
    source: str
    rounds: int = 1
    """Interleaved rounds a run measures every workload in (results/rounds.py)."""

    def __post_init__(self) -> None:
        if self.version < 1:
            raise ValueError("version must be >= 1")
        if self.rounds < 1:
            raise ValueError("rounds must be >= 1")
        if not self.entries:
            raise ValueError("a suite needs at least one workload")


def suite_names() -> list[str]:
    return sorted(p.stem for p in _DIR.glob("*.toml"))


def load_suite(name_or_path: str) -> Suite:
    """A built-in suite by name, or a suite TOML file by path."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        if name_or_path not in suite_names():
            raise UserError(
                f"--suite: no suite {name_or_path!r} (known: {', '.join(suite_names())})"
            )
        path = _DIR / f"{name_or_path}.toml"
    return parse_suite(Fields(read_toml(path), str(path)))


def parse_suite(f: Fields) -> Suite:
    f.reject_unknown({"name", "version", "description", "budget_s", "rounds", "workloads"})
    default_budget = f.float("budget_s", 2.0, within=bounds.BUDGET_S)
    entries = []
    for w in f.tables("workloads"):
        w.reject_unknown({"name", "params", "grid", "dtypes", "budget_s"})
        dtypes = w.list("dtypes", ["fp32"])
        for i, d in enumerate(dtypes):
            if d not in _DTYPES:
                raise w.error(f"dtypes[{i}]", f"{d!r} is not one of: {', '.join(_DTYPES)}")
        budget = w.float("budget_s", default_budget, within=bounds.BUDGET_S)
        params = dict(w.table("params", {}).data)
        entries.extend(
            SuiteEntry(
                workload=w.str("name"),
                params={**params, **point},
                dtypes=tuple(_DTYPES[d] for d in dtypes),
                budget_s=budget,
            )
            for point in _grid(w)
        )
    try:
        return Suite(
            name=f.str("name"),
            version=f.int("version"),
            description=f.str("description", ""),
            entries=tuple(entries),
            source=f.source,
            rounds=bounds.ROUNDS.check(f.int("rounds", 1), f.where("rounds")),
        )
    except ValueError as e:
        raise UserError(f"{f.source}: {e}") from None


def _grid(w: Fields) -> list[dict[str, int | float | str]]:
    """Every combination of an entry's `grid` lists (a shape sweep); [{}] without a grid.

    grid = { m = [4096, 8192], n = [4096, 8192] } gives four workloads, m varying slowest.
    """
    if not w.has("grid"):
        return [{}]
    g = w.table("grid")
    axes = {}
    for key in g.data:
        values = g.list(key)
        if not values:
            raise g.error(key, "needs at least one value")
        axes[key] = values
    if w.has("params") and (both := sorted(set(axes) & set(w.table("params").data))):
        raise w.error("grid", f"{', '.join(both)} given in both params and grid")
    points = [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]
    if len(points) > MAX_GRID:
        raise w.error("grid", f"expands to {len(points)} workloads, more than {MAX_GRID}")
    return points


def select(suite: Suite, only: Sequence[str] = ()) -> Suite:
    """The suite restricted to the named workloads; an unknown name is an error, not a no-op."""
    if not only:
        return suite
    names = {e.workload for e in suite.entries}
    unknown = sorted(set(only) - names)
    if unknown:
        has = ", ".join(sorted(names))
        raise UserError(f"--only: {', '.join(unknown)} not in suite {suite.name} (has: {has})")
    kept = tuple(e for e in suite.entries if e.workload in only)
    return replace(suite, entries=kept)
