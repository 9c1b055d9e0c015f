"""Chinese answers and reports (report.i18n): the catalogues agree key by key, every key the code
asks for exists, amounts in 万/亿, --lang and SUBSIDYBENCH_LANG, programme names as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from subsidybench.cli import app
from subsidybench.errors import UserError
from subsidybench.report import i18n
from subsidybench.report.i18n import LANGS, Messages, catalogue, language, messages

runner = CliRunner()
SRC = Path(__file__).resolve().parents[1] / "src" / "subsidybench"
DATA = Path(__file__).parent / "data" / "run-v1.json"


def test_every_language_has_every_key_with_the_same_placeholders() -> None:
    english = catalogue("en")
    for lang in LANGS:
        assert set(catalogue(lang)) == set(english), lang  # catalogue() also checks placeholders


def test_a_missing_key_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for lang in LANGS:
        text = (i18n._DIR / f"{lang}.toml").read_text(encoding="utf-8")
        (tmp_path / f"{lang}.toml").write_text(text, encoding="utf-8")
    zh = tmp_path / "zh.toml"
    zh.write_text(
        "\n".join(x for x in zh.read_text().splitlines() if not x.startswith('"row.net" ')),
        encoding="utf-8",
    )
    monkeypatch.setattr(i18n, "_DIR", tmp_path)
    catalogue.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"missing.*row\.net"):
            catalogue("zh")
    finally:
        catalogue.cache_clear()


def test_every_key_the_code_names_exists() -> None:
    english = catalogue("en")
    used: set[str] = set()
    for path in SRC.rglob("*.py"):
        used |= set(re.findall(r"\bm\(\s*\"([a-z_]+\.[a-z0-9_]+)\"", path.read_text()))
    assert used, "the scan found no keys: the pattern is wrong"
    assert not sorted(used - set(english))


def test_amounts_in_wan_and_yi() -> None:
    zh = Messages("zh", "auto")
    assert zh.amount(123_456_789.0, "CNY") == "1.23 亿元"
    assert zh.amount(616_060.49, "CNY") == "61.61 万元"
    assert zh.amount(999.0, "CNY") == "999.00 元"
    assert Messages("zh", "wan").amount(2e8, "USD") == "20,000.00 万美元"
    assert Messages("en", "plain").amount(616_060.49, "CNY") == "616,060.49 CNY"


def test_language_from_flag_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUBSIDYBENCH_LANG", "zh_CN")
    assert language(None) == "zh" and language("en") == "en"
    monkeypatch.setenv("SUBSIDYBENCH_LANG", "fr")
    with pytest.raises(UserError, match="SUBSIDYBENCH_LANG"):
        language(None)
    with pytest.raises(UserError, match="--units"):
        messages("en", "lakh")


def test_cost_in_chinese_with_ranges() -> None:
    result = runner.invoke(
        app,
        [
            "cost",
            "--train",
            "7e9:1e12",
            "--tflops",
            "300",
            "--price",
            "14~16",
            "--currency",
            "CNY",
            "--subsidy",
            "beijing-2023",
            "--devices",
            "256",
            "--scaling-efficiency",
            "0.9",
            "--draws",
            "5000",
        ],
        env={"COLUMNS": "200", "SUBSIDYBENCH_LANG": "zh"},
    )
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "净成本" in out and "万元" in out and "区间" in out and "种子" in out
    assert "net cost" not in out


def test_report_in_chinese(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from subsidybench.errors import UserError
    from subsidybench.report.charts import _cjk_font

    try:
        _cjk_font()
    except UserError as e:  # the report refuses, in one line, to draw Chinese without a font
        pytest.skip(f"no CJK font on this machine: {e}")

    result = runner.invoke(
        app,
        [
            "report",
            str(DATA),
            "--price",
            "1.8~2.4",
            "--currency",
            "USD",
            "--subsidy",
            "shanghai-2025-compute",
            "--in",
            "CNY",
            "--lang",
            "zh",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    for words in ("## 测量结果", "## 单位工作量成本", "## 每 PFLOP·时成本的区间", "有效", "无效"):
        assert words in md, words
    # The programme as its office writes it (profiles/subsidies/*.toml name_zh).
    assert "《上海市进一步扩大人工智能应用的若干措施》算力券" in md
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'lang="zh-Hans"' in page and 'id="chart-tornado"' in page
    book = load_workbook(tmp_path / "report.xlsx")
    assert {"关于", "成本", "可编辑成本 1"} <= set(book.sheetnames)


def test_keys_built_from_names_exist() -> None:
    """Keys the code builds (sweep.<column>, sheet.<table>) are in the catalogue too."""
    from subsidybench.report.cost_answer import _HEADERS
    from subsidybench.report.tables import Report

    english = catalogue("en")
    tables = Report.tables.__code__.co_consts
    names = [c for c in tables if isinstance(c, str) and c.isidentifier()]
    missing = [f"sweep.{c}" for c in _HEADERS if f"sweep.{c}" not in english]
    missing += [f"sheet.{n}" for n in names if f"sheet.{n}" not in english]
    assert not missing
