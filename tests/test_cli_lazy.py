"""The command table: commands load when they run, families group them, old names still work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from subsidybench.cli import COMMANDS, app, lazy
from subsidybench.cli.lazy import Command, Family

SRC = str(Path(__file__).resolve().parents[1] / "src")
# pydantic: typer 0.28+ reads option values through it (pyproject.toml pins typer below 0.28).
HEAVY = ("pandas", "torch", "matplotlib", "openpyxl", "sqlalchemy", "scipy", "pydantic")
runner = CliRunner()


def _imports_after(*args: str) -> set[str]:
    """The top-level modules a fresh process has imported after running the command."""
    code = (
        "import sys\n"
        "from subsidybench.cli import main\n"
        f"sys.argv = ['subsidybench', *{list(args)!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(done.stderr.split())


def test_cost_imports_no_heavy_package() -> None:
    cost = ["cost", "--train", "7e9:2e12", "--tflops", "400", "--price", "2.5", "--currency", "USD"]
    loaded = _imports_after(*cost)
    assert "subsidybench.cost.evaluate" in loaded  # the command did run
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}
    assert loaded & _command_modules() == {"subsidybench.cli.cost"}
    # Nor what only other answers need: serving curves, a ranking, a file's random name.
    unneeded = {"cost.serving", "results.serving", "cost.options"}
    assert not loaded & ({f"subsidybench.{m}" for m in unneeded} | {"secrets"})


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="threads counted in /proc")
def test_cost_starts_no_blas_threads_and_leaves_the_environment_as_it_was() -> None:
    """OpenBLAS's thread per core spins as numpy loads (75 ms of CPU on 2 cores); a cost
    answer calls no BLAS routine, so cost loads numpy on one thread and says so to no one."""
    code = (
        "import os, sys\n"
        "from subsidybench.cli import main\n"
        "sys.argv = ['subsidybench', 'cost', '--train', '7e9:2e12', '--tflops', '400',"
        " '--price', '2.5', '--currency', 'USD']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print(len(os.listdir('/proc/self/task')), 'OPENBLAS_NUM_THREADS' in os.environ,"
        " file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.split() == ["1", "False"]


def test_help_imports_no_command_module_and_no_numpy() -> None:
    loaded = _imports_after("--help")
    assert "numpy" not in loaded
    assert not loaded & _command_modules()


def _command_modules() -> set[str]:
    """The modules the table's commands live in."""
    return {cmd.target.partition(":")[0] for _, cmd in _entries()}


def _entries() -> list[tuple[list[str], Command]]:
    found: list[tuple[list[str], Command]] = []
    for name, entry in COMMANDS.items():
        if isinstance(entry, Family):
            found += [([name, sub], cmd) for sub, cmd in entry.commands.items()]
        else:
            found.append(([name], entry))
    return found


@pytest.mark.parametrize(("path", "entry"), _entries(), ids=[" ".join(p) for p, _ in _entries()])
def test_every_table_entry_loads_and_shows_its_help(path: list[str], entry: Command) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert f"{' '.join(path)} [OPTIONS]" in " ".join(result.stdout.split())
    assert 0 < len(entry.help) <= 60


def test_top_level_help_fits_one_screen_and_hides_old_names() -> None:
    result = runner.invoke(app, ["--help"], terminal_width=80)
    assert result.exit_code == 0
    lines = result.stdout.rstrip().splitlines()
    # One screen: 30 lines of 80 columns (25 today, room for `ab`, `ui` and one more command).
    assert len(lines) <= 30, result.stdout
    listed = {line.split()[1] for line in lines if line.startswith("│ ") and len(line.split()) > 2}
    assert {"cost", "catalogue", "store", "evidence"} <= listed
    assert not listed & {"profiles", "subsidies", "history", "gate", "verify"}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (["profiles", "list"], ["catalogue", "profiles", "list"]),
        (["subsidies", "list"], ["catalogue", "subsidies", "list"]),
        (["gate", "--help"], ["store", "gate", "--help"]),
        (["history", "--help"], ["store", "history", "--help"]),
        (["verify", "--help"], ["evidence", "verify", "--help"]),
    ],
)
def test_old_names_still_run_and_say_where_the_command_went(
    old: list[str], new: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    after = runner.invoke(app, new)
    monkeypatch.setattr(lazy, "at_terminal", lambda: True)
    before = runner.invoke(app, old)
    assert before.exit_code == after.exit_code == 0, before.output
    old_path, new_path = " ".join(old[:-1]), " ".join(new[:-1])
    assert f"'{old_path}' is now '{new_path}'" in before.stderr
    # The same command: the same output, but for the path in the usage line.
    assert " ".join(before.stdout.split()) == " ".join(
        after.stdout.replace(new_path, old_path).split()
    )


def test_evidence_without_a_subcommand_bundles_as_it_used_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "run.json"
    quiet = runner.invoke(app, ["evidence", str(missing), "--out", str(tmp_path / "b.zip")])
    assert quiet.stderr.count("\n") == 1  # no note in a pipe: one error line, as before
    monkeypatch.setattr(lazy, "at_terminal", lambda: True)
    old = runner.invoke(app, ["evidence", str(missing), "--out", str(tmp_path / "b.zip")])
    new = runner.invoke(app, ["evidence", "bundle", str(missing), "--out", str(tmp_path / "b.zip")])
    assert old.exit_code == new.exit_code == 1
    assert "is now 'evidence bundle ARGS'" in old.stderr
    assert old.stderr.splitlines()[-1] == new.stderr.splitlines()[-1]
    assert "run.json" in new.stderr


def test_a_mistyped_command_is_one_line_with_a_suggestion() -> None:
    result = runner.invoke(app, ["stor"])
    assert result.exit_code == 2
    assert "No such command 'stor'. Did you mean 'store'?" in result.stderr
    assert "Traceback" not in result.output


def test_a_bad_table_entry_is_refused() -> None:
    with pytest.raises(ValueError, match="module:attribute"):
        Command("subsidybench.cli.cost", "Cost.")
    with pytest.raises(ValueError, match="one line"):
        Command("subsidybench.cli.cost:app", "two\nlines")
    with pytest.raises(ValueError, match="not one of its commands"):
        Family("A family.", {"a": Command("m:f", "A.")}, default="b")


def test_welch_interval_uses_the_t_distribution_of_scipy_stats() -> None:
    import math

    import numpy as np
    from scipy.stats import t as student_t

    from subsidybench.results.interval import _welch

    a, b = np.log([1.00, 1.02, 0.99, 1.01]), np.log([1.10, 1.08, 1.12])
    got = _welch(a, b, 0.05, "runs")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    diff = b.mean() - a.mean()
    half = student_t.ppf(0.975, df) * se
    assert got.low == pytest.approx(math.exp(diff - half), rel=1e-12)
    assert got.high == pytest.approx(math.exp(diff + half), rel=1e-12)
    assert got.p_value == pytest.approx(2 * student_t.sf(diff / se, df), rel=1e-9)
