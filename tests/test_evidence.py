"""Evidence bundles: what a bundle holds, and verify catching an edited sample, a tampered file
and an unsafe member."""

from __future__ import annotations

import json
import re
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.errors import UserError
from subsidybench.report.evidence_bundle import check_catalogue_file, write_bundle
from subsidybench.results.evidence import (
    MANIFEST,
    member_problem,
    read_bundle,
    sha256,
    verify_bundle,
)

BASELINE = Path(__file__).resolve().parents[1] / "bench" / "baseline.json"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One bundle of the reference run, costed under a programme (a report takes seconds)."""
    tmp = tmp_path_factory.mktemp("evidence")
    run = tmp / "cpu-run.json"
    shutil.copy(BASELINE, run)
    out = tmp / "claim.zip"
    result = CliRunner().invoke(
        app,
        [
            *("evidence", str(run), "--out", str(out), "--subsidy", "shanghai-2025-compute"),
            *("--price", "2", "--currency", "CNY"),
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def _rezip(src: Path, dst: Path, changes: dict[str, bytes], *, update_manifest: bool) -> Path:
    """A copy of bundle `src` with members replaced, the manifest's hashes updated or not."""
    members = read_bundle(src)
    members.update(changes)
    if update_manifest:
        manifest = json.loads(members[MANIFEST])
        for entry in manifest["files"]:
            if entry["path"] in changes:
                entry["sha256"] = sha256(changes[entry["path"]])
                entry["bytes"] = len(changes[entry["path"]])
        members[MANIFEST] = json.dumps(manifest).encode()
    with zipfile.ZipFile(dst, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return dst


def test_bundle_holds_runs_environment_report_catalogue(bundle: Path) -> None:
    members = read_bundle(bundle)
    manifest = json.loads(members[MANIFEST])
    assert manifest["format"] == "subsidybench-evidence" and manifest["schema_version"] == 2
    assert manifest["subsidy"] == "shanghai-2025-compute"
    roles = {e["path"]: e["role"] for e in manifest["files"]}
    assert roles["runs/cpu-run.json"] == "run"
    assert members["runs/cpu-run.json"] == BASELINE.read_bytes()  # byte for byte
    assert roles["environment/cpu-run.json"] == "environment"
    for name in ("report.md", "report.html", "report.xlsx"):
        assert roles[f"report/{name}"] == "report"
    assert roles["catalogue/subsidies/shanghai-2025-compute.toml"] == "programme"
    assert roles["catalogue/devices/cpu-generic.toml"] == "profile"
    for e in manifest["files"]:
        assert sha256(members[e["path"]]) == e["sha256"] and len(members[e["path"]]) == e["bytes"]
    assert set(members) == set(roles) | {MANIFEST}


def test_verify_a_good_bundle(bundle: Path) -> None:
    result = verify_bundle(bundle, check_catalogue_file)
    assert result.ok, result.problems
    assert result.runs_loaded == 1 and result.figures_recomputed > 100
    out = CliRunner().invoke(app, ["verify", str(bundle)])
    assert out.exit_code == 0, out.output
    assert "verified" in out.output


def test_an_edited_sample_is_named_even_with_the_manifest_updated(
    bundle: Path, tmp_path: Path
) -> None:
    doc = json.loads(read_bundle(bundle)["runs/cpu-run.json"])
    first = doc["results"][0]
    first["measurement"]["samples_s"][0] *= 1.5  # one block reported slower than it was
    edited = json.dumps(doc, indent=2).encode()
    bad = _rezip(
        bundle, tmp_path / "edited.zip", {"runs/cpu-run.json": edited}, update_manifest=True
    )
    result = verify_bundle(bad, check_catalogue_file)
    assert not result.ok
    fields = {p.message.split(" is ")[0] for p in result.problems}
    # A larger sample moves the mean and the spread; every problem names the file and the id.
    assert f"{first['id']}: statistics.mean_s" in fields
    assert all(p.member == "runs/cpu-run.json" for p in result.problems)
    assert not any("SHA-256" in p.message for p in result.problems)
    out = CliRunner().invoke(app, ["verify", str(bad)])
    assert out.exit_code == 3
    assert f"runs/cpu-run.json: {first['id']}: statistics.mean_s" in out.output


def test_a_tampered_file_fails_its_hash(bundle: Path, tmp_path: Path) -> None:
    members = read_bundle(bundle)
    page = members["report/report.md"].replace(b"subsidybench", b"subsidybench (revised)", 1)
    bad = _rezip(
        bundle, tmp_path / "tampered.zip", {"report/report.md": page}, update_manifest=False
    )
    out = CliRunner().invoke(app, ["verify", str(bad)])
    assert out.exit_code == 3
    assert "report/report.md: SHA-256" in out.output and "does not match the manifest" in out.output


def test_an_unlisted_member_and_a_broken_profile_are_named(bundle: Path, tmp_path: Path) -> None:
    changes = {
        "extra.txt": b"hello",
        "catalogue/devices/cpu-generic.toml": b'name = "x"\n',
    }
    bad = _rezip(bundle, tmp_path / "extra.zip", changes, update_manifest=True)
    problems = {str(p) for p in verify_bundle(bad, check_catalogue_file).problems}
    assert "extra.txt: in the bundle but not in the manifest" in problems
    assert any(p.startswith("catalogue/devices/cpu-generic.toml: does not read") for p in problems)


@pytest.mark.parametrize(
    "name", ["../evil.json", "/etc/passwd", "runs/../../x", "a\\b", "C:x", "runs//x", "./x"]
)
def test_unsafe_member_names(name: str) -> None:
    assert member_problem(name) is not None
    assert member_problem("runs/cpu-run.json") is None


def test_a_zip_slip_member_is_refused_before_reading(tmp_path: Path) -> None:
    bad = tmp_path / "slip.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr(MANIFEST, "{}")
        zf.writestr("../outside.json", "{}")
    with pytest.raises(UserError, match=re.escape("'../outside.json' refused")):
        read_bundle(bad)
    out = CliRunner().invoke(app, ["verify", str(bad)])
    assert out.exit_code == 1
    assert out.output.count("\n") == 1 and "refused" in out.output
    assert not (tmp_path.parent / "outside.json").exists()


def test_a_symlink_member_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "link.zip"
    info = zipfile.ZipInfo("runs/link.json")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UserError, match="symbolic link"):
        read_bundle(bad)


def test_a_member_packed_by_an_unreadable_method_is_refused_by_name(tmp_path: Path) -> None:
    bad = tmp_path / "zstd.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("runs/a.json", "{}")
    raw = bytearray(bad.read_bytes())
    # The method field (2 bytes) of the local header (offset 8) and the central directory's
    # (offset 10): 93 is zstd, which Python's zipfile cannot read.
    raw[8:10] = (93).to_bytes(2, "little")
    central = raw.index(b"PK\x01\x02")
    raw[central + 10 : central + 12] = (93).to_bytes(2, "little")
    bad.write_bytes(bytes(raw))
    with pytest.raises(UserError, match="compression method 93"):
        read_bundle(bad)


def test_not_a_zip_and_an_existing_out(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(UserError, match="not a readable zip"):
        read_bundle(junk)
    with pytest.raises(UserError, match="exists"):
        write_bundle([BASELINE], junk)


def test_a_deeply_nested_run_file_is_a_problem_not_a_crash(bundle: Path, tmp_path: Path) -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    bad = _rezip(bundle, tmp_path / "deep.zip", {"runs/cpu-run.json": nested}, update_manifest=True)
    problems = [str(p) for p in verify_bundle(bad, check_catalogue_file).problems]
    assert any(p.startswith("runs/cpu-run.json: does not load") for p in problems), problems
