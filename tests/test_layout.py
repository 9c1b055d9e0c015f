"""The layout's promises: folders by stage with imports one way, and each kind of addition a
one-file change (a workload module, a backend row and class)."""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import pytest

from subsidybench.backends import DEVICE_TYPES
from subsidybench.catalogue.profiles import list_profiles
from subsidybench.devices import BACKENDS, PluginBackend
from subsidybench.measure.distributed import backend_for
from subsidybench.measure.tasks import plan
from subsidybench.suites import load_suite
from subsidybench.workloads import WORKLOADS, discover

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "subsidybench"

# What each stage may import from the package: never a later stage (cli -> ui -> report ->
# cost/results -> measure -> workloads/devices -> vocabulary).
STAGES = {"devices", "workloads", "suites", "measure", "results", "catalogue", "cost", "report"}
STAGES |= {"ui", "cli", "vocabulary"}
MAY_NOT_IMPORT = {
    "vocabulary": STAGES - {"vocabulary"},
    "devices": {"workloads", "measure", "results", "catalogue", "cost", "report", "cli"},
    "workloads": {"measure", "results", "catalogue", "cost", "report", "cli"},
    "suites": {"devices", "workloads", "measure", "results", "catalogue", "cost", "report", "cli"},
    "measure": {"cost", "report", "cli"},
    "results": {"measure", "workloads", "devices", "cost", "report", "cli"},
    "catalogue": {"measure", "workloads", "devices", "results", "cost", "report", "cli"},
    "cost": {"measure", "workloads", "devices", "report", "cli"},
    "report": {"measure", "workloads", "devices", "cli"},
    # The page renders what the costing core answers, like the CLI does, beside it.
    "ui": {"measure", "workloads", "devices", "cli"},
    "cli": set(),
}
for _stage_name in STAGES - {"ui", "cli"}:
    MAY_NOT_IMPORT[_stage_name] = MAY_NOT_IMPORT[_stage_name] | {"ui"}
TORCH_FREE = {"vocabulary", "suites", "results", "catalogue", "cost", "report", "ui"}


def _stage(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else "vocabulary"


def _imports(path: Path) -> set[str]:
    """Top-level names imported: 'torch', or the package's subpackage ('cost', 'measure')."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "subsidybench" and len(parts) > 1:
                sub = parts[1]
                found.add(sub if (PACKAGE / sub).is_dir() else "vocabulary")
            elif parts[0] == "torch":
                found.add("torch")
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_one_way(path: Path) -> None:
    stage = _stage(path)
    if stage not in MAY_NOT_IMPORT:  # a module directly under the package: __init__, __main__
        stage = "vocabulary"
    imported = _imports(path)
    if path.name == "__main__.py":
        return
    assert not imported & MAY_NOT_IMPORT[stage], (
        f"{stage} imports {imported & MAY_NOT_IMPORT[stage]}"
    )
    if stage in TORCH_FREE:
        assert "torch" not in imported, f"{stage} must stay torch-free"


def test_every_device_type_has_a_backend_and_a_collective() -> None:
    for name, row in DEVICE_TYPES.items():
        assert name in BACKENDS, f"no Backend subclass for {name}"
        backend = BACKENDS[name]()
        if isinstance(backend, PluginBackend):
            assert row.module and backend.module.split(".")[0] == row.module
        if row.collective:
            assert backend_for(name) == row.collective
    for profile in list_profiles():
        assert profile.backend in DEVICE_TYPES


def test_a_new_workload_is_one_module_and_a_suite_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "extra_workloads"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "noop.py").write_text(
        textwrap.dedent(
            """
            from dataclasses import dataclass

            from subsidybench.dtypes import DType
            from subsidybench.work import Work
            from subsidybench.workloads.base import Family, Step, Workload, register


            @register
            @dataclass(frozen=True)
            class Noop(Workload):
                name = "noop_for_test"
                family = Family.PRIMITIVE
                dtypes = frozenset({DType.FP32})
                description = "does nothing"
                n: int = 1

                def work(self, dtype):
                    return Work(flops=float(self.n), bytes=0.0, items=1.0, item_unit="call")

                def prepare(self, device, dtype):
                    return Step(run=lambda: None)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import extra_workloads

        assert discover(extra_workloads) == ["extra_workloads.noop"]
        suite = tmp_path / "s.toml"
        suite.write_text(
            'name = "s"\nversion = 1\ndescription = "one line"\n'
            '[[workloads]]\nname = "noop_for_test"\nparams = { n = 3 }\n'
        )
        [task] = plan(load_suite(str(suite)))
        assert task.id == "noop_for_test[n=3]/fp32"
    finally:
        WORKLOADS.pop("noop_for_test", None)
        for name in [m for m in sys.modules if m.startswith("extra_workloads")]:
            del sys.modules[name]


COST = PACKAGE / "cost"
# The scenario layer: the door, the resolver and the readers beside it turn a Request into
# small records; only these may see the Request. The costing modules take the records.
READS_REQUEST = {"request", "door", "scenario", "job_inputs", "throughput_inputs"}
READS_REQUEST |= {"options", "parity"}  # a comparison file's and a parity's questions


def _cost_imports(path: Path) -> set[str]:
    """The modules of cost/ that `path` imports anywhere: at the top, inside functions, and
    under TYPE_CHECKING (an import dodged into a function is still a dependency)."""
    modules = {p.stem for p in COST.glob("*.py")}
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["subsidybench", "cost"] and len(parts) > 2 and parts[2] in modules:
                found.add(parts[2])
    return found - {path.stem}


def cost_graph() -> dict[str, set[str]]:
    """cost/'s import graph: each module and the modules of cost/ it imports."""
    return {p.stem: _cost_imports(p) for p in sorted(COST.glob("*.py")) if p.stem != "__init__"}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of `graph` (its modules in order, the first repeated at the end), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_cost_imports_run_one_way() -> None:
    cycle = _cycle(cost_graph())
    assert not cycle, "cost/ imports in a circle: " + " -> ".join(cycle)


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    # An import inside a function counts: a module that imports its importer lazily is a circle.
    graph = cost_graph()
    graph["throughput"] = graph["throughput"] | {"throughput_inputs"}
    assert _cycle(graph)


def test_only_the_scenario_layer_reads_the_request() -> None:
    for path in sorted(COST.glob("*.py")):
        if path.stem in READS_REQUEST:
            continue
        assert "request" not in _cost_imports(path), f"cost/{path.name} imports the Request"
        reads = [
            node.lineno
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Attribute) and node.attr == "request"
        ]
        assert not reads, f"cost/{path.name} reads a scenario's Request (lines {reads})"
