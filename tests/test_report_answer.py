"""The report answers first and hides nothing: the answer section at the top (and the real
reason when nothing could be costed), a price range shown as given, invalid results marked in
every format, a workbook kept as finance keeps one, and charts that read."""

# ruff: noqa: RUF001  (Chinese text is compared as written, with its full-width punctuation)
from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.report.i18n import messages, reason
from subsidybench.results.record import load_run, save_run
from subsidybench.timing import Verdict

BUSY = "machine busy: other processes used 31% of the CPU (> 10%)"


def _report(*args: str, out: Path) -> str:
    result = CliRunner().invoke(app, ["report", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return (out / "report.md").read_text(encoding="utf-8")


def _answer(md: str) -> str:
    """The text between the title and the first engineering table."""
    assert md.index("## The answer") < md.index("## Runs")
    return md[: md.index("## Runs")]


@pytest.fixture
def busy_file(run_file: Path, tmp_path: Path) -> Path:
    """The run with every measured result invalid, as a busy machine leaves it."""
    run = load_run(run_file)
    results = tuple(
        dataclasses.replace(r, verdict=Verdict(False, (BUSY,))) if r.verdict else r
        for r in run.results
    )
    path = tmp_path / "busy.json"
    save_run(dataclasses.replace(run, results=results), path)
    return path


def test_nothing_costed_says_why_at_the_top(busy_file: Path, tmp_path: Path) -> None:
    md = _report(str(busy_file), "--price", "2", "--currency", "USD", out=tmp_path)
    top = _answer(md)
    assert "Nothing in this report is costed: busy: not costed: every result is invalid" in top
    assert BUSY in top and "no price" not in md
    openpyxl = pytest.importorskip("openpyxl")
    about = openpyxl.load_workbook(tmp_path / "report.xlsx")["About"]
    said = {row[0]: row[1] for row in about.iter_rows(min_row=2, values_only=True)}
    assert said["the answer"].startswith("Nothing in this report is costed: busy:")
    costs = openpyxl.load_workbook(tmp_path / "report.xlsx")["Costs"]
    assert "every result is invalid" in costs["A2"].value  # not "nothing was priced"


def test_the_answer_comes_first(run_file: Path, tmp_path: Path) -> None:
    md = _report(str(run_file), "--price", "2", "--currency", "USD", out=tmp_path)
    top = _answer(md)
    row = next(line for line in top.splitlines() if line.startswith("| run |"))
    # gemm-bf16 at 400 TFLOP/s and 2 USD an hour: 5.00 USD per PFLOP-hour; lm-bf16 at 2,000
    # tokens/s: 0.2778 USD per million tokens; one invalid result of three measured.
    assert "| gemm-bf16 | 5.00 |" in row and "0.2778 (lm-bf16)" in row
    assert "| 0% | 2.00 → 2.00 |" in row
    assert "1 of 3 results invalid, not costed (spread too wide (IQR/median 30% > 10%))" in row


def test_a_price_range_is_shown_as_given(run_file: Path, tmp_path: Path) -> None:
    md = _report(str(run_file), "--price", "1.5~2.5", "--currency", "USD", out=tmp_path)
    assert "1.50 ~ 2.50 (range; midpoint costed) → 2.00" in _answer(md)
    cost = next(line for line in md.splitlines() if line.startswith("| run | gemm-bf16 | 400 ("))
    assert "| 1.50 ~ 2.50 (given by hand; midpoint 2.00 costed) |" in cost
    assert "2 USD per device-hour (rent): the midpoint of 1.5~2.5 USD" in md
    assert "| --price 1.5~2.5 USD |" in md
    with (tmp_path / "costs.csv").open() as f:
        gemm = next(r for r in csv.DictReader(f) if r["id"] == "gemm-bf16")
    assert (float(gemm["price_low"]), float(gemm["price_high"])) == (1.5, 2.5)
    pd = pytest.importorskip("pandas")
    pytest.importorskip("openpyxl")
    ranges = pd.read_excel(tmp_path / "report.xlsx", sheet_name="Ranges")
    net = ranges[ranges["figure"] == "net per PFLOP-hour"].iloc[0]
    assert net["P10"] < net["point"] < net["P90"]
    assert net["P10"] == pytest.approx(5.0 * 1.6 / 2, rel=0.02)  # P10 of uniform 1.5~2.5


def test_invalid_results_are_marked_in_every_format(run_file: Path, tmp_path: Path) -> None:
    md = _report(str(run_file), "--price", "2", "--currency", "USD", out=tmp_path)
    noisy = [line for line in md.splitlines() if "| noisy-bf16 |" in line]
    assert len(noisy) == 2  # results and utilisation
    assert all(line.startswith("| ✗ run |") for line in noisy)
    assert "| measured (invalid) |" in noisy[0] and "(invalid) |" in noisy[1]
    assert not any(line.startswith("| ✗") and "gemm-bf16" in line for line in md.splitlines())
    for table in ("results", "utilisation"):
        with (tmp_path / f"{table}.csv").open() as f:
            valid = {r["id"]: r["valid"] for r in csv.DictReader(f)}
        assert valid["noisy-bf16"] == "False" and valid["gemm-bf16"] == "True"
    openpyxl = pytest.importorskip("openpyxl")
    sheet = openpyxl.load_workbook(tmp_path / "report.xlsx")["Results"]
    head = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        invalid = row[head.index("workload")].value == "noisy-bf16"
        grey = row[0].fill.fgColor.rgb == "FFF1F1F1"
        assert grey == invalid
        if invalid:
            assert row[head.index("verdict")].font.color.rgb == "FFB42318"


def test_the_workbook_is_kept_as_finance_keeps_one(run_file: Path, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    _report(str(run_file), "--price", "2", "--currency", "USD", "--in", "CNY", out=tmp_path)
    book = openpyxl.load_workbook(tmp_path / "report.xlsx")
    assert book.sheetnames[:2] == ["About", "Answer"]
    for ws in book.worksheets:
        if ws.title.startswith("Live cost"):
            assert ws.freeze_panes == "B4"
            continue
        heads = [c.value for c in ws[1] if c.value]
        assert not any("_" in h for h in heads), (ws.title, heads)  # words, not column names
        assert ws.freeze_panes in ("A2", "B2")
        if ws.title != "About":
            assert ws.auto_filter.ref, ws.title
    costs = book["Costs"]
    heads = [c.value for c in costs[1]]
    net = costs.cell(row=2, column=heads.index("net per PFLOP-hour") + 1)
    assert isinstance(net.value, float) and '"CNY"' in net.number_format
    results = book["Results"]
    heads = [c.value for c in results[1]]
    median = results.cell(row=2, column=heads.index("median time per step") + 1)
    assert median.number_format.endswith('" s"') and "[<1]" in median.number_format
    about = {r[0]: r[1] for r in book["About"].iter_rows(min_row=2, values_only=True)}
    assert about["exchange rate"].startswith("6.") and "CNY per USD" in about["exchange rate"]
    assert about["exchange rate source"]  # the dated data file's source, never blank
    live = book["Live cost 1"]
    fx = next(r for r in live.iter_rows(values_only=True) if r[0] and "exchange rate" in r[0])
    assert fx[2] == "data file" and "CNY per USD; " in fx[3] and len(fx[3]) > 20


def test_zh_answer_is_chinese(run_file: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    args = ["report", str(run_file), "--price", "2", "--currency", "CNY", "--lang", "zh"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path)])
    if result.exit_code != 0 and "Chinese font" in result.output:
        pytest.skip("no Chinese font for the charts (see test_i18n)")
    assert result.exit_code == 0, result.output
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert md.index("## 结论") < md.index("## 运行记录")
    top = md[: md.index("## 运行记录")]
    assert "## 结论" in top and "每 PFLOP·时净成本（元）" in top
    assert "3 个结果中 1 个无效，未计成本（离散过大（IQR/中位数 30% > 10%））" in top
    assert "invalid" not in top and "spread" not in top


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("too few samples (3 < 5)", "样本过少（3 < 5）"),
        ("blocks too short for the clock (0.20 ms)", "计时块过短，时钟无法分辨（0.20 毫秒）"),
        ("spread too wide (IQR/median 36% > 10%)", "离散过大（IQR/中位数 36% > 10%）"),
        (f"invalid: {BUSY}", "机器繁忙：其他进程占用了 31% 的 CPU（> 10%）"),
        (
            "the device could not be synchronized: times may be launch times only",
            "无法同步设备：时间可能只是启动时间",
        ),
        ("something new", "something new"),  # unknown: as the file states it
    ],
)
def test_verdict_reasons_in_chinese(english: str, chinese: str) -> None:
    assert reason(english, messages("zh")) == chinese
    assert reason(english) == english.removeprefix("invalid: ")


def test_charts_read() -> None:
    """Plain tick labels (no offset, no 2e+06), bars only where a run measured the workload,
    units on a tornado's ranges, and two runs of one commit told apart on a history chart."""
    import pandas as pd

    from subsidybench.report.charts import _slots, plain
    from subsidybench.report.history_site import _tick_labels
    from subsidybench.report.tornado_chart import _input_range

    assert [plain(v) for v in (2e6, 1500.0, 0.25, 0.0)] == ["2,000,000", "1,500", "0.25", "0"]
    frame = pd.DataFrame({"id": ["a", "a", "b", "c", "c"], "run": ["x", "y", "x", "x", "y"]})
    slots = _slots(frame, ["a", "b", "c"], ["x", "y"])
    assert slots[("b", "x")] == slots[("a", "y")] + 1.6  # no empty slot for y beside b
    price = _input_range("price", 1.6, 2.4, None, messages("en"))
    assert price == "1.60 - 2.40  per device-hour"
    assert _input_range("rate", 0.27, 0.33, None, messages("en")) == "27.0% - 33.0%"
    rows = [
        pd.Series({"commit": "abcdef0123", "time": pd.Timestamp("2026-11-01 10:00")}),
        pd.Series({"commit": "abcdef0123", "time": pd.Timestamp("2026-11-01 11:00")}),
        pd.Series({"commit": "1234567890", "time": pd.Timestamp("2026-11-01 12:00")}),
    ]
    labels = _tick_labels(rows)
    assert labels == ["abcdef0 11-01 10:00", "abcdef0 11-01 11:00", "1234567"]


def test_runs_far_apart_get_a_sweep_panel_each(run_file: Path, tmp_path: Path) -> None:
    """A run 1,000x dearer than another: two panels, so neither line lies flat along zero."""
    pytest.importorskip("matplotlib")
    second = tmp_path / "second.json"
    second.write_bytes(run_file.read_bytes())
    args = [str(run_file), str(second), "--price", "run=2", "--price", "second=2000"]
    _report(*args, "--currency", "USD", out=tmp_path / "r")
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    sweep = page[page.index('<figure id="chart-sweep">') :]
    sweep = sweep[: sweep.index("</figure>")]
    assert sweep.count('<g id="axes_') == 2


def test_runs_with_the_same_ranges_share_a_tornado_panel_and_the_caption_names_them(
    tmp_path: Path,
) -> None:
    """Two copies of a run at one price draw the same panel once; a third at another price gets
    its own. No run is dropped: the shared panel's title and the caption name them all."""
    pytest.importorskip("matplotlib")
    real = Path(__file__).parent / "data" / "ci-v3-quiet-run.json"
    files = []
    for name in ("same-a", "same-b", "dearer"):
        files.append(tmp_path / f"{name}.json")
        files[-1].write_bytes(real.read_bytes())
    prices = ["--price", "same-a=2", "--price", "same-b=2", "--price", "dearer=3"]
    _report(*map(str, files), *prices, "--currency", "USD", out=tmp_path / "r")
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    tornado = page[page.index('<figure id="chart-tornado">') :]
    tornado = tornado[: tornado.index("</figure>")]
    assert tornado.count('<g id="axes_') == 2
    caption = " ".join(tornado[tornado.index("<figcaption") :].split())
    assert "share one: same-a, same-b." in caption
    assert "dearer" not in caption


def _sweep_svg_inches(runs: int, spread: float) -> tuple[float, int]:
    """The height (inches) and the panels of the sweep chart of `runs` runs whose costs go
    from 99 (the first) to 99 x `spread` (the last) at a 0% subsidy; no warning allowed."""
    import re
    import warnings
    from types import SimpleNamespace

    import pandas as pd

    from subsidybench.report.sweep_chart import sweep_chart

    rows = [
        {
            "run": f"run-{i:02d}",
            "id": "matmul",
            "rate": r / 10,
            "net_per_pflop_hour": (99 - 9.9 * r) * spread ** (i / max(runs - 1, 1)),
        }
        for i in range(runs)
        for r in range(11)
    ]
    report = SimpleNamespace(
        sweep=pd.DataFrame(rows), currency="USD", programme_rates={}, programme=None
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chart = sweep_chart(report, messages("en"))  # type: ignore[arg-type]
    assert chart is not None
    found = re.search(r'<svg[^>]* height="([0-9.]+)pt"', chart.svg)
    assert found is not None
    return float(found[1]) / 72, chart.svg.count('<g id="axes_')


def test_a_sweep_of_many_runs_is_one_panel_of_grey_lines() -> None:
    """Forty runs in the palette's seven colours could not be told apart, and a legend of 40
    entries stood taller than the chart: of more runs than colours, one panel of grey lines
    with the cheapest and dearest named (a legend of three entries, whatever the count), and
    a log axis rather than a panel a run when they are far apart (40 runs were 80 inches)."""
    pytest.importorskip("matplotlib")
    two, panels = _sweep_svg_inches(2, 1.5)
    assert two == pytest.approx(4.4) and panels == 1  # 1.2 in of margins and a 3.2 in panel
    eight, _ = _sweep_svg_inches(8, 1.5)
    forty, panels = _sweep_svg_inches(40, 1.5)
    assert eight == pytest.approx(forty) and panels == 1
    assert eight < two + 1.0  # a strip of three legend rows, not forty
    far, panels = _sweep_svg_inches(40, 1000.0)
    assert far == pytest.approx(forty) and panels == 1
    _, panels = _sweep_svg_inches(3, 1000.0)
    assert panels == 3  # up to seven, a panel each, as before


@pytest.mark.parametrize(("spread", "labels"), [(1.5, 3), (1.0, 2)])
def test_the_many_run_sweep_names_the_cheapest_and_dearest_once(spread: float, labels: int) -> None:
    """The legend: the other runs, the dearest and the cheapest; runs all alike are one run
    named once (as the cheapest), not twice."""
    pytest.importorskip("matplotlib")
    import pandas as pd
    from matplotlib.figure import Figure

    from subsidybench.report.sweep_chart import _many

    rows = [
        {"run": f"r{i}", "id": "w", "rate": r / 10, "net_per_pflop_hour": (10 - r) * spread**i}
        for i in range(9)
        for r in range(11)
    ]
    frame = pd.DataFrame(rows)
    ax = Figure().add_subplot()
    tops = frame.groupby("run")["net_per_pflop_hour"].max()
    _many(ax, frame, list(tops.index), tops, messages("en"))
    names = ax.get_legend_handles_labels()[1]
    assert len(names) == labels
    assert names[0] == f"the other {9 - labels + 1} runs"
    assert names[-1] == "cheapest: r0: w"


def test_a_bar_chart_measured_once_is_the_same_svg(monkeypatch: pytest.MonkeyPatch) -> None:
    """tight_layout with the legend's rect measures each axes once (charts._measured_once):
    the same SVG byte for byte as measuring twice, and the axes keep their own method after."""
    pytest.importorskip("matplotlib")
    import contextlib

    import pandas as pd

    from subsidybench.report import charts

    rows = [
        {"run": f"r{r}", "id": f"w{w}", "v": 1.5 * (r + 1) * 10**w, "lo": 1.0, "hi": 2e3}
        for r in range(3)
        for w in range(5)  # 15 bars: the value axis at the top too; a log axis (1.5 to 45,000)
    ]
    frame = pd.DataFrame(rows)

    def draw() -> str:
        return charts._grouped_bars(frame, "v", key="t", title="t", xlabel="x", low="lo", high="hi")

    seen = []
    once = charts._measured_once

    @contextlib.contextmanager
    def spy(fig: object) -> object:
        with once(fig):  # type: ignore[arg-type]
            yield
        seen.extend(vars(ax).get("get_tightbbox") for ax in fig.axes)  # type: ignore[attr-defined]

    monkeypatch.setattr(charts, "_measured_once", spy)
    measured_once = draw()
    assert seen and all(method is None for method in seen)
    monkeypatch.setattr(charts, "_measured_once", lambda fig: contextlib.nullcontext())
    assert draw() == measured_once
