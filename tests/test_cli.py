from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from subsidybench.cli import app

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_help_on_every_command() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("run", "show", "devices", "suites"):
        assert command in result.stdout
        sub = invoke(command, "--help")
        assert sub.exit_code == 0, command
        assert "Usage" in sub.stdout


def test_run_then_show(tiny_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    result = invoke("run", "--suite", str(tiny_suite), "--device", "cpu", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert "matmul" in result.stdout and "FLOP/s" in result.stdout
    assert json.loads(out.read_text())["state"] == "complete"
    shown = invoke("show", str(out))
    assert shown.exit_code == 0
    assert "mlp_train" in shown.stdout and "sample/s" in shown.stdout
    as_csv = invoke("show", "--csv", str(out))
    assert as_csv.stdout.splitlines()[0].startswith("id,workload,family,dtype,status")


def test_run_refuses_to_overwrite(tiny_suite: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    out.write_text("{}")
    result = invoke("run", "--suite", str(tiny_suite), "--out", str(out))
    assert result.exit_code == 1
    assert (
        result.stderr.strip() == f"error: --out: {out} exists; choose another path or move it away"
    )
    assert out.read_text() == "{}"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["run", "--dtype", "fp64"], 1, "error: --dtype: 'fp64' is not one of"),
        (["run", "--device", "tpu"], 1, "error: --device: unknown device 'tpu'"),
        (["run", "--suite", "nope"], 1, "error: --suite: no suite 'nope'"),
        (["run", "--threads", "0"], 2, "error: Invalid value for '--threads'"),
        (["run", "--bogus"], 2, "error: No such option: --bogus"),
        (["show", "missing.json"], 1, "error: missing.json: no such file"),
        (["frobnicate"], 2, "error: No such command 'frobnicate'"),
    ],
)
def test_bad_input_is_one_line(args: list[str], code: int, message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == code
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(message)
    assert "Traceback" not in result.stdout + result.stderr


def test_show_rejects_a_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"schema_version": 1, "suite": {"name": "ci"}}))
    result = invoke("show", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}: ")


def test_devices_lists_the_cpu() -> None:
    result = invoke("devices")
    assert result.exit_code == 0
    assert "cpu" in result.stdout and "fp32" in result.stdout


def test_suites_lists_ci() -> None:
    result = invoke("suites")
    assert result.exit_code == 0 and "ci" in result.stdout


def test_version() -> None:
    from subsidybench import __version__

    assert invoke("--version").stdout.strip() == f"subsidybench {__version__}"


def test_cli_import_does_not_import_torch() -> None:
    # `show` and the finance commands must start fast and work where torch cannot run.
    import os
    import subprocess
    import sys

    code = "import sys, subsidybench.cli; print('torch' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_ctrl_c_on_the_command_keeps_the_finished_workloads(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    suite = tmp_path / "slow.toml"
    # Enough workloads of a second each that the interrupt lands mid-run.
    entries = "".join(
        f'[[workloads]]\nname = "matmul"\nparams = {{ n = {64 + i} }}\n' for i in range(20)
    )
    suite.write_text(f'name = "slow"\nversion = 1\nbudget_s = 0.5\n{entries}')
    out = tmp_path / "run.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [
        sys.executable,
        "-m",
        "subsidybench",
        "run",
        "--suite",
        str(suite),
        "--device",
        "cpu",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if out.exists() and json.loads(out.read_text())["results"]:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted: finished workloads are saved in" in err
    assert "Traceback" not in err
    doc = json.loads(out.read_text())
    assert doc["state"] == "interrupted"
    assert 1 <= len(doc["results"]) < 20


def test_a_bad_flag_is_one_line_on_stderr_and_nothing_on_stdout() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "subsidybench", "run", "--budget", "-1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
