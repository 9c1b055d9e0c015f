"""report.alongside: a result computed in a forked child is the same as one computed here, and
a child that fails or dies leaves the work to this process, never a wrong or missing answer."""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

import pytest

from subsidybench.report import ReportOptions, build_report, label_runs, parse_price
from subsidybench.report.alongside import Alongside, can_fork
from subsidybench.report.files import chart_drawer, write_report

forks = pytest.mark.skipif(not can_fork(), reason="forks only on Linux with a second CPU")
PARENT = os.getpid()


def _where(tag: str) -> tuple[str, int]:
    return tag, os.getpid()


def _fails_in_a_child(tag: str) -> tuple[str, int]:
    if os.getpid() != PARENT:
        raise RuntimeError("a bug in the child")
    return tag, os.getpid()


def _dies_in_a_child(tag: str) -> tuple[str, int]:
    if os.getpid() != PARENT:
        os._exit(3)  # as a kill would: no answer, no exception
    return tag, os.getpid()


@forks
def test_the_work_is_done_in_a_child() -> None:
    with Alongside(fork=True) as later:
        tag, pid = later.send(_where, "x").result()
    assert tag == "x"
    assert pid != os.getpid()


def test_without_fork_the_work_is_done_here() -> None:
    assert Alongside(fork=False).send(_where, "x").result() == ("x", os.getpid())


@forks
@pytest.mark.parametrize("fn", [_fails_in_a_child, _dies_in_a_child])
def test_a_child_that_gives_no_answer_leaves_the_work_here(fn: object) -> None:
    with Alongside(fork=True) as later:
        assert later.send(fn, "x").result() == ("x", os.getpid())  # type: ignore[arg-type]


def _imports() -> None:
    import json  # noqa: F401


def _fails() -> None:
    raise ImportError("no such module")


@forks
def test_a_child_forked_early_prepares_then_does_the_work_sent_later() -> None:
    with Alongside(fork=True, prepare=_imports) as later:
        assert later._process is not None and later._process.is_alive()  # forked already
        tag, pid = later.send(_where, "late").result()
    assert tag == "late" and pid != os.getpid()


@forks
def test_a_child_whose_preparing_fails_leaves_the_work_here() -> None:
    with Alongside(fork=True, prepare=_fails) as later:
        time.sleep(0.2)  # it has answered (False) and ended before the work is sent
        assert later.send(_where, "x").result() == ("x", os.getpid())


@forks
def test_an_unpicklable_job_for_an_early_child_is_done_here() -> None:
    with Alongside(fork=True, prepare=_imports) as later:
        assert later.send(lambda: os.getpid()).result() == os.getpid()


@forks
def test_a_child_forked_early_ends_when_never_sent_work() -> None:
    later = Alongside(fork=True, prepare=_imports)
    process = later._process
    later.close()
    assert process is not None and process.exitcode is not None


def test_result_before_send_is_a_bug() -> None:
    with pytest.raises(RuntimeError, match="before send"):
        Alongside(fork=False).result()


@forks
def test_a_child_is_ended_and_reaped_when_left_early() -> None:
    later = Alongside(fork=True).send(time.sleep, 600)  # answers in 10 minutes
    process = later._process
    assert process is not None and process.is_alive()
    started = time.monotonic()
    later.close()
    assert process.exitcode is not None  # ended and reaped, not left running
    assert time.monotonic() - started < 60


@forks
def test_a_report_drawn_in_a_child_is_the_same_file_for_file(
    run_file: Path, tmp_path: Path
) -> None:
    runs = label_runs([run_file])
    options = ReportOptions(prices=(parse_price("2", "USD"),))
    report = build_report(runs, options, generated="2026-01-01T00:00:00+00:00")
    with chart_drawer(fork=True) as drawer:  # forked before, sent the report when built
        early = write_report(report, tmp_path / "early", drawer=drawer)
    forked = write_report(report, tmp_path / "forked", drawer=Alongside(fork=True))
    here = write_report(report, tmp_path / "here", drawer=Alongside(fork=False))
    assert [p.name for p in forked] == [p.name for p in here] == [p.name for p in early]
    for a, b in zip(early, here, strict=True):
        if a.suffix != ".xlsx":
            assert a.read_bytes() == b.read_bytes(), a.name
    assert forked[:2] == [tmp_path / "forked" / "report.md", tmp_path / "forked" / "report.html"]
    assert "<svg" in (tmp_path / "forked" / "report.html").read_text()
    for a, b in zip(forked, here, strict=True):
        if a.suffix != ".xlsx":
            assert a.read_bytes() == b.read_bytes(), a.name
            continue
        with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
            assert za.namelist() == zb.namelist()
            for name in za.namelist():
                if name != "docProps/core.xml":  # the workbook's own time of writing
                    assert za.read(name) == zb.read(name), name


def test_a_language_without_its_font_is_refused_before_any_file(
    run_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The charts are drawn last (in a child, beside the workbook); a missing Chinese font is
    still found before the first file is written, as when they were drawn first."""
    from subsidybench.errors import UserError
    from subsidybench.report import charts
    from subsidybench.report.i18n import messages

    def no_font() -> str:
        raise UserError("--lang zh: charts need a Chinese font and none was found")

    monkeypatch.setattr(charts, "_cjk_font", no_font)
    (run,) = label_runs([run_file])
    report = build_report([run], ReportOptions(prices=(parse_price("2", "USD"),)))
    with pytest.raises(UserError, match="Chinese font"):
        write_report(report, tmp_path / "out", messages("zh"))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_reports_ranges_can_be_sent_from_a_child(run_file: Path) -> None:
    """A forked child sends its ranges pickled; a closure among their sources could not be, and
    the work would silently be done twice (once in the child, again here)."""
    import pickle

    runs = label_runs([run_file])
    report = build_report(runs, ReportOptions(prices=(parse_price("2~3", "USD"),)))
    assert report.ranges
    keys = {src.key for _, r in report.ranges for src in r.sources}
    assert {"price", "throughput"} <= keys  # given by hand, and a bootstrap of the samples
    back = pickle.loads(pickle.dumps(report.ranges))
    assert [r.figures for _, r in back] == [r.figures for _, r in report.ranges]


@forks
def test_the_ranges_drawn_in_two_processes_are_those_drawn_in_one(
    run_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from subsidybench.report import alongside

    paths = [tmp_path / f"run-{i}.json" for i in range(4)]
    for path in paths:
        shutil.copyfile(run_file, path)
    options = ReportOptions(prices=(parse_price("2~3", "USD"),))
    shared = build_report(label_runs(paths), options)
    monkeypatch.setattr(alongside, "can_fork", lambda: False)
    alone = build_report(label_runs(paths), options)
    assert len(shared.ranges) == 4
    assert [(k, r.figures, r.tornado) for k, r in shared.ranges] == [
        (k, r.figures, r.tornado) for k, r in alone.ranges
    ]


def test_ctrl_c_during_a_report_says_so_and_exits_130(
    run_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """typer turns Ctrl-C into a silent exit 130; the CLI says "interrupted" (a report's child,
    if any, is ended by Alongside's close)."""
    from typer.testing import CliRunner

    from subsidybench.cli import app
    from subsidybench.report import files

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "write_report", interrupted)
    result = CliRunner().invoke(app, ["report", str(run_file), "--out", str(tmp_path / "r")])
    assert result.exit_code == 130
    assert result.stderr.strip() == "interrupted"


def test_a_process_with_another_thread_does_not_fork() -> None:
    """The page's server answers in a pool of threads; a fork there could copy a lock another
    thread holds, held for ever in the child: the work is done in the calling thread instead."""
    import threading

    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not can_fork()
        assert Alongside().send(_where, "x").result() == ("x", os.getpid())
    finally:
        release.set()
        other.join()
