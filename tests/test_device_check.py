"""bench/device_check.sh: its plan in dry-run mode (the real run takes minutes), and the summary
it writes, from result files, with figures that were not measured saying why."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "device_check.sh"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_dry_run_plans_every_step_and_skips_gpu_steps_on_the_cpu(tmp_path: Path) -> None:
    env = {**os.environ, "DEVICE_CHECK_DRY_RUN": "1", "PYTHON": sys.executable}
    done = subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    steps = (tmp_path / "out" / "steps.tsv").read_text().splitlines()
    names = [line.split("\t")[0] for line in steps[1:]]
    assert names[:2] == ["device", "gpu-tests"] or names[:3] == [
        "nvidia-smi",
        "device",
        "gpu-tests",
    ]
    assert names[-3:] == ["distributed", "energy", "summary"]
    assert (
        "-m gpu" in done.stdout
        and "torch.distributed.run --standalone --nproc-per-node 1" in done.stdout
    )
    import torch

    if not torch.cuda.is_available():
        assert "compiled\tskipped: no GPU" in "\n".join(steps)
        assert "--suite ci --device cpu" in done.stdout and "--dtype fp8,int8" in done.stdout
    else:
        assert "--suite standard --device cuda" in done.stdout and "--compile" in done.stdout


def test_usage_error_without_an_output_folder() -> None:
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "usage:" in done.stderr


def test_summary_reads_the_figures_and_says_why_others_are_missing(
    run_file: Path, tmp_path: Path
) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import device_summary
    finally:
        sys.path.pop(0)
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(run_file, out / "standard.json")
    (out / "steps.tsv").write_text(
        "step\tstatus\tseconds\tlimit_s\nstandard\ttimed out\t170\t170\n"
    )
    assert device_summary.main([str(out)]) == 0
    text = (out / "summary.md").read_text()
    assert text.startswith("# Device check: cuda:0 (Test GPU)")
    assert "- fp8 matmul: not measured (no such result in this check)" in text
    assert "- memory bandwidth: not measured (no such result in this check)" in text
    assert "- one-rank torchrun: no result file (see distributed.log)" in text
    assert "| standard | timed out | 170 | 170 |" in text
    assert "energy: not read" in text  # the fixture's run predates energy
