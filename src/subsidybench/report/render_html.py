"""A report as one self-contained HTML page: inline CSS, charts as inline SVG, no scripts, and no
reference to anything outside the file, so it opens offline and can be mailed as it is."""

from __future__ import annotations

import re
from html import escape
from typing import TYPE_CHECKING

from subsidybench.report.core_words import core_text
from subsidybench.report.display import Section, basis_legend, programme_name, sections
from subsidybench.report.i18n import ENGLISH, Messages
from subsidybench.report.tables import Report

if TYPE_CHECKING:  # matplotlib is imported only where charts are drawn (report.files)
    from subsidybench.report.charts import Chart

PAGE_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans CJK SC",
       "Noto Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif;
       color: #1d1d1f; margin: 0 auto; max-width: 1400px; padding: 24px 32px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 6px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
p.meta { color: #666; margin: 0 0 16px; }
p.intro { color: #333; margin: 4px 0 10px; max-width: 900px; }
table { border-collapse: collapse; font-size: 12.5px; margin: 6px 0; }
th, td { border: 1px solid #e2e2e2; padding: 3px 8px; vertical-align: top; }
th { background: #f3f4f6; text-align: left; font-weight: 600; }
div.scroll { overflow-x: auto; }
td.wl { overflow-wrap: anywhere; min-width: 16em; max-width: 30em; }
td.run { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.num.wrap { white-space: normal; min-width: 7em; }
tr:nth-child(even) td { background: #fafafa; }
tr.invalid td { color: #6b6b6b; background: #f1f1f1; }
tr.invalid td:first-child { border-left: 3px solid #b42318; }
.badge-invalid, .b-invalid { display: inline-block; border-radius: 3px; padding: 0 4px;
       background: #fee4e2; color: #b42318; font-weight: 600; font-size: 11.5px; }
.badge-invalid[title] { cursor: help; text-decoration: underline dotted; }
ol.notes { font-size: 12px; color: #444; }
li, p, figcaption { overflow-wrap: anywhere; }
td { overflow-wrap: break-word; }
section.answer { border: 1px solid #c7d2fe; background: #f5f7ff; border-radius: 6px;
       padding: 4px 16px 10px; }
section.answer h2 { margin-top: 12px; }
section.answer table { width: 100%; }
section.answer td.num, section.answer td.run { white-space: normal; }
ul.legend { font-size: 13px; }
figure { margin: 12px 0 20px; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 12px; color: #555; }
.basis { display: inline-block; border-radius: 3px; padding: 0 4px; font-size: 11.5px; }
.b-measured { background: #dcfce7; }
.b-derived { background: #dbeafe; }
.b-given { background: #ffedd5; }
.b-other { background: #f3e8ff; }
/* A phone: no sideways scrolling. Each table row becomes a card whose cells carry their column's
   name, so every column (the verdict, P50 / P90) stays in view; charts fill the width. */
@media (max-width: 640px) {
  body { padding: 12px; font-size: 15px; }
  h1 { font-size: 20px; }
  table.cards, .cards thead, .cards tbody, .cards tr, .cards td { display: block; width: 100%;
       box-sizing: border-box; }
  .cards thead { display: none; }
  table.cards { border: 0; }
  .cards tr { border: 1px solid #d0d0d0; border-radius: 4px; margin: 0 0 8px; }
  .cards td, .cards td.num, .cards td.run { border: 0; border-bottom: 1px solid #eee;
       text-align: left; white-space: normal; min-width: 0; max-width: none; padding: 3px 8px; }
  .cards td::before { content: attr(data-label); display: block; font-size: 11px; color: #666; }
  .cards td:first-child { font-weight: 600; }
  /* Other tables scroll inside their box, their first column held in view. */
  div.scroll table:not(.cards) th:first-child,
  div.scroll table:not(.cards) td:first-child { position: sticky; left: 0;
       background: #fff; z-index: 1; max-width: 35vw; }
  td.wl { min-width: 12em; }
  figure { margin: 8px 0 16px; }
}
"""

# Which charts follow which section.
_CHARTS_AFTER = {
    "results": ("throughput", "bandwidth"),
    "utilisation": ("of_peak",),
    "costs": ("cost",),
    "serving": ("serving",),  # one chart per curve: serving-1, serving-2, ...
    "ranges": ("tornado",),
    "sweep": ("sweep",),
}


_OTHER = ("vendor", "estimate", "programme", "data file", "not applied", "default", "unknown")


def _basis_class(text: str, m: Messages) -> str | None:
    for basis, kind in (("measured", "measured"), ("derived", "derived"), ("given", "given")):
        if text.startswith(basis) or text.startswith(
            m.basis(basis if basis != "given" else "given by hand")
        ):
            return f"b-{kind}"
    if text in _OTHER or text in {m.basis(b) for b in _OTHER}:
        return "b-other"
    return None


def _cell(text: str, numeric: bool, header: str, m: Messages, why: str = "") -> str:
    classes = []
    if numeric:
        classes.append("num")
        if len(text) > 16 and " (" in text:
            # A figure with its words (a price range and its midpoint, a basis): wraps between
            # words, so a costs table fits a laptop's width with every column in view.
            classes.append("wrap")
    if text.startswith(m("word.invalid")):
        # The verdict of an invalid row: a red badge, its reason a hover away (and a footnote).
        title = f' title="{escape(why)}"' if why else ""
        span = f'<span class="badge-invalid"{title}>{escape(text)}</span>'
        return f'<td data-label="{escape(header)}">{span}</td>'
    if why and ("basis" in header or header == m("head.basis")):
        span = f'<span class="basis b-invalid">{escape(text)}</span>'
        return f'<td data-label="{escape(header)}">{span}</td>'
    workload = header == m("head.workload")
    if workload or header == m("answer.head.caveats"):
        classes.append("wl")
    elif header in (m("head.run"), m("answer.head.workload")):
        classes.append("run")
    body = escape(text)
    if workload:  # ids are long: let them break after a comma, not mid-word
        body = body.replace(",", ",<wbr>")
    if "basis" in header or header in (m("head.basis"), m("head.peak_basis")):
        kind = _basis_class(text, m)
        if kind:
            body = f'<span class="basis {kind}">{body}</span>'
    attr = f' class="{" ".join(classes)}"' if classes else ""
    return f'<td{attr} data-label="{escape(header)}">{body}</td>'


def _section(section: Section, m: Messages) -> list[str]:
    out = [
        f'<section class="{section.key}">',
        f'<h2 id="{section.key}">{escape(section.title)}</h2>',
    ]
    out.append(f'<p class="intro">{escape(section.intro)}</p>')
    if not section.rows:
        out.append(f"<p>{escape(m('report.none'))}</p></section>")
        return out
    out.append('<div class="scroll"><table class="cards">')
    out.append(
        "<thead><tr>"
        + "".join(f"<th>{escape(h)}</th>" for h in section.headers)
        + "</tr></thead><tbody>"
    )
    flags = section.invalid or ("",) * len(section.rows)
    for row, why in zip(section.rows, flags, strict=True):
        cells = "".join(
            _cell(c, num, h, m, why)
            for c, num, h in zip(row, section.numeric, section.headers, strict=True)
        )
        attr = f' class="invalid" title="{escape(m("word.invalid"))}: {escape(why)}"' if why else ""
        out.append(f"<tr{attr}>{cells}</tr>")
    out.append("</tbody></table></div>")
    if section.notes:
        out.append('<ol class="notes">')
        out.extend(f"<li>{escape(n)}</li>" for n in section.notes)
        out.append("</ol>")
    out.append("</section>")
    return out


def _figure(chart: Chart) -> list[str]:
    return [
        f'<figure id="chart-{chart.key}">',
        chart.svg,
        f"<figcaption>{escape(chart.caption)}</figcaption>",
        "</figure>",
    ]


def render_html(report: Report, charts: list[Chart], m: Messages = ENGLISH) -> str:
    """The whole report as one HTML document."""
    generated = m("report.generated", when=report.generated, version=report.toolkit_version)
    body = [f"<h1>{escape(report.title)}</h1>", f'<p class="meta">{escape(generated)}</p>']
    if report.programme:
        name = programme_name(report, m)
        body.append(f"<p>{escape(m('report.programme', name=name, id=report.programme))}</p>")
    legend = [f"<p>{escape(m('report.legend'))}</p>", '<ul class="legend">']
    legend.extend(
        f"<li><b>{escape(name)}</b>: {escape(meaning)}</li>" for name, meaning in basis_legend(m)
    )
    legend.append("</ul>")
    for i, section in enumerate(sections(report, m)):
        if i == 1:  # the answer first, then what its figures rest on, then the tables
            body.extend(legend)
        body.extend(_section(section, m))
        for key in _CHARTS_AFTER.get(section.key, ()):
            for chart in charts:
                if chart.key == key or chart.key.startswith(f"{key}-"):
                    body.extend(_figure(chart))
    if report.notes:
        body.append(f'<h2 id="notes">{escape(m("report.notes"))}</h2><ul>')
        body.extend(f"<li>{escape(core_text(n, m))}</li>" for n in report.notes)
        body.append("</ul>")
    return html_page(report.title, body, lang="zh-Hans" if m.lang == "zh" else "en")


def html_page(title: str, body: list[str], css: str = "", lang: str = "en") -> str:
    """A whole self-contained document: PAGE_CSS (and `css`) inline, `body` lines as given."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{PAGE_CSS}{css}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


_EXTERNAL = re.compile(
    r"""(?:\b(?:src|href|xlink:href|srcset|poster|data|action)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:url\(\s*["']?\s*(?:https?:)?//)|(?:@import)""",
    re.IGNORECASE,
)


def external_references(page: str) -> list[str]:
    """Every place the page would load something from elsewhere: an http(s) or protocol-relative
    URL in src, href and similar attributes, CSS url() or @import. Empty for a report."""
    return [m.group(0) for m in _EXTERNAL.finditer(page)]
