"""A Chinese report and page show no English word of their own: the costing core's assumption
values and sources, notes, warnings, the serving section and the job are translated at the
rendering side (report.core_words). Ids, flags, file names, numbers, units and acronyms stay as
they are; every other ASCII word left in the rendered text fails the test, naming it."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest
from browser import LiveServer, live_server  # noqa: F401  (a fixture)
from factories import SERVING_SWEEP, point_result, serving_run
from typer.testing import CliRunner

from subsidybench.cli import COMMANDS, app
from subsidybench.cost.inputs import INPUTS
from subsidybench.report.core_words import KEYS, core_text
from subsidybench.report.i18n import Messages, catalogue
from subsidybench.results.record import load_run, save_run

DATA = Path(__file__).parent / "data"
ZH = Messages("zh", "auto")

# Words a Chinese reader meets as they are: units, acronyms, currency codes, symbols of a
# formula (N, f, x, n; a~b), and proper names (the toolkit, a method, products, file formats).
KEPT = {
    *("FLOP", "FLOPs", "TFLOP", "PFLOP", "GFLOP", "MFU", "IQR", "TTFT", "TPOT", "ITL", "SLO"),
    *("USD", "CNY", "PUE", "kWh", "W", "ms", "s", "h", "B", "KiB", "MiB", "GiB", "GB", "TB"),
    *("P10", "P50", "P90", "p50", "p90", "p99", "N", "f", "x", "n", "a", "b", "DATE", "AMOUNT"),
    *("subsidybench", "Monte", "Carlo", "PaLM", "GPT", "CPU", "GPU", "NPU", "Excel", "CSV"),
    *("JSON", "TOML", "torch", "Chowdhery", "Kaplan"),  # first authors of the papers cited
    "English",  # the language link, in its own words
}


def _identity(paths: list[Path]) -> set[str]:
    """Words that name things in the run files (devices, CPUs, workloads, dtypes, suites):
    names, not prose, and kept as their files write them."""
    words: set[str] = set()
    for path in paths:
        run = load_run(path)
        env = run.environment
        names = [run.suite, env.cpu_model, *env.device_names, run.device.name or "", env.os]
        names += [r.workload for r in run.results] + [r.dtype.value for r in run.results]
        for name in names:
            words |= set(re.findall(r"[A-Za-z]+", str(name)))
    return words


def english_words(text: str, kept: set[str]) -> set[str]:
    """ASCII words of `text` that are neither kept nor part of an id, flag, file name, date or
    figure (a token holding a digit or one of []_=/.-:~@ is one of those), a command line
    (`subsidybench COMMAND`, typed as written) or a cited title (in 《》, as published)."""
    text = re.sub(r"《[^》]*》", " ", text)
    text = re.sub(rf"subsidybench (?:{'|'.join(map(re.escape, COMMANDS))})\b( list)?", " ", text)
    left = set()
    for token in re.split(r"[\s，。；：、（）()\"'|<>,;!?·→×…*]+", text):
        token = token.strip("[]")
        if not token or re.search(r"[\d\[\]_=/.\-:~@#%+&]", token):
            continue
        for word in re.findall(r"[A-Za-z]+", token):
            if word not in kept and not re.fullmatch(r"[A-Z]{2,5}s?", word):
                left.add(word)
    return left


def _visible(page: str) -> str:
    """What a reader sees of an HTML page: its text and its hover titles, not its markup."""
    page = re.sub(r"<(style|svg)\b.*?</\1>", " ", page, flags=re.S)
    titles = " ".join(re.findall(r'title="([^"]*)"', page))
    return re.sub(r"<[^>]+>", " ", page) + " " + titles


@pytest.fixture(scope="module")
def zh_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], set[str]]:
    """A Chinese report of a quiet run, a noisy one and a serving sweep with an invalid point,
    priced as a range under a CNY programme (an exchange rate, caps, payment, validity) with an
    SLO: every table, note and assumption a report has."""
    folder = tmp_path_factory.mktemp("zh")
    serving = folder / "serve.json"
    points = [*SERVING_SWEEP[:3], point_result(8, 4.0, 0.25, 0.5, valid=False)]
    save_run(serving_run(*points), serving)
    paths = [DATA / "ci-v3-quiet-run.json", DATA / "run-v1.json", serving]
    args = ["--price", "1.5~2.5", "--currency", "USD", "--subsidy", "hangzhou-2024"]
    args += ["--tpot-ms", "250"]
    result = CliRunner().invoke(
        app, ["report", *map(str, paths), *args, "--lang", "zh", "--out", str(folder / "r")]
    )
    if result.exit_code != 0 and "Chinese font" in result.output:
        pytest.skip("no Chinese font for the charts (see test_i18n)")
    assert result.exit_code == 0, result.output
    texts = {"md": (folder / "r" / "report.md").read_text(encoding="utf-8")}
    texts["html"] = _visible((folder / "r" / "report.html").read_text(encoding="utf-8"))
    labels = {p.stem for p in paths}
    return texts, KEPT | _identity(paths[:2]) | _identity([serving]) | labels


@pytest.mark.parametrize("kind", ["md", "html"])
def test_a_chinese_report_has_no_english_word(
    zh_report: tuple[dict[str, str], set[str]], kind: str
) -> None:
    texts, kept = zh_report
    assert english_words(texts[kind], kept) == set()


def test_a_chinese_reports_charts_have_no_english_word(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chart text is drawn as paths, which the page check cannot read: every text artist of
    every chart is read as it is saved instead. Runs enough for the many-run forms too (a grid,
    the sweep's grey lines), besides the report above's bars, serving, tornado and sweep."""
    import shutil

    from matplotlib.figure import Figure
    from matplotlib.text import Text

    from subsidybench.catalogue.subsidies import load_programme
    from subsidybench.cost.request import Request
    from subsidybench.cost.throughput_inputs import slo_of
    from subsidybench.errors import UserError
    from subsidybench.report import ReportOptions, build_report, label_runs, parse_price
    from subsidybench.report.charts import COLOURS, _cjk_font, render_charts

    try:
        _cjk_font()
    except UserError as e:
        pytest.skip(f"no CJK font on this machine: {e}")
    serving = tmp_path / "serve.json"
    points = [*SERVING_SWEEP[:3], point_result(8, 4.0, 0.25, 0.5, valid=False)]
    save_run(serving_run(*points), serving)
    quiet = [tmp_path / f"q{i}.json" for i in range(len(COLOURS) + 1)]
    for path in quiet:
        shutil.copyfile(DATA / "ci-v3-quiet-run.json", path)
    drawn: list[str] = []
    save = Figure.savefig

    def reading(fig: Figure, *args: object, **kwargs: object) -> None:
        drawn.extend(t.get_text() for t in fig.findobj(Text) if t.get_visible())
        save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", reading)
    options = ReportOptions(
        prices=(parse_price("1.5~2.5", "USD"),),
        programme=load_programme("hangzhou-2024"),
        currency="CNY",
        slo=slo_of(Request(tpot_ms=250.0)),
    )
    kept = KEPT | _identity([DATA / "ci-v3-quiet-run.json", DATA / "run-v1.json", serving])
    for paths in ([DATA / "run-v1.json", serving, *quiet[:2]], [*quiet, DATA / "run-v1.json"]):
        drawn.clear()
        charts = render_charts(build_report(label_runs(paths), options), ZH)
        assert len(charts) >= 4 and drawn
        kept_here = kept | {p.stem for p in paths}
        assert english_words(" ".join(drawn), kept_here) == set()


def test_the_check_finds_an_english_word() -> None:
    """The check itself can fail: an untranslated phrase of the core is found, ids are not."""
    text = "价格 rent per device-hour, USD matmul[n=1024]/fp32 --price 2.5 CNY/kWh"
    assert english_words(text, KEPT) == {"rent", "per"}
    assert english_words(core_text("rent per device-hour, USD", ZH), KEPT) == set()


def test_a_core_phrase_keeps_its_figures_and_ids() -> None:
    assert core_text("2.5 USD per device-hour (rent)", ZH) == "每卡时 2.5 USD（租金）"
    text = "30% of compute-rent (domestic compute; the programme's maximum)"
    assert core_text(text, ZH).startswith("compute-rent 的 30%")
    assert core_text("2.5 USD per device-hour (rent)", Messages()) == (
        "2.5 USD per device-hour (rent)"
    )


def test_every_core_phrase_has_its_words() -> None:
    for lang in ("en", "zh"):
        assert {f"core.{k}" for k in KEYS} <= set(catalogue(lang)), lang


PAGE_QUERIES = (
    "contract=4e7&currency=CNY&price=18~22&subsidy=hangzhou-2024&domestic=true&devices=100",
    "train=7e9:2e12&tflops=300~450&price=2~3&currency=USD&devices=256"
    "&scaling-efficiency=0.85~0.95&subsidy=shanghai-2025-compute",
    "serve=1e9&params=7e9&tflops=300&currency=USD&capex=250000&lifetime=5&tariff=0.6"
    "&power-w=700&pue=1.3&cost-of-capital=0.08",
    "",  # the empty form
)


# Values an input takes, typed as written (the form's choices, the rent markets, languages).
CHOICES = {c for i in INPUTS for c in i.choices} | {"cn", "us", "en", "zh"}


def _page_words(page: str) -> set[str]:
    """English words a reader of the page sees, less what is code or data: identifiers in
    <code> (a field's URL parameter, the command line), the catalogue's entries in the form's
    lists (ids and product names, as their files name them), and the details (the JSON's own
    keys and values, as `cost --json` writes them)."""
    page = re.sub(r"<(code|select|details)\b.*?</\1>", " ", page, flags=re.S)
    return english_words(_visible(page), KEPT | CHOICES)


@pytest.mark.parametrize("query", PAGE_QUERIES)
def test_the_chinese_page_has_no_english_word(
    live_server: LiveServer,  # noqa: F811
    query: str,
) -> None:
    """The whole zh page (the answer: headline, warnings, assumptions and their sources; the
    form: panels, units, help) carries no English word; the empty form neither."""
    with urllib.request.urlopen(f"{live_server.url}/cost?{query}&lang=zh", timeout=60) as reply:
        page = reply.read().decode()
    if query:
        assert 'id="assumptions"' in page
    assert _page_words(page) == set()


def test_the_page_check_finds_an_english_word() -> None:
    """What the page's check leaves out is code and data only: a word in a label is found."""
    page = "<label><code>price</code> <small>(money)</small></label><select><option>x y"
    assert _page_words(page + "</option></select>") == {"money"}
