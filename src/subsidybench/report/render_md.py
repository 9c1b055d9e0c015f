"""A report as Markdown: the sections as pipe tables, footnotes, the basis legend and notes."""

from __future__ import annotations

from subsidybench.report.core_words import core_text
from subsidybench.report.display import (
    INVALID_MARK,
    Section,
    basis_legend,
    programme_name,
    sections,
)
from subsidybench.report.i18n import ENGLISH, Messages
from subsidybench.report.tables import Report


def _escape(text: str) -> str:
    # A pipe would end the cell; a newline would end the row.
    return text.replace("|", "\\|").replace("\n", " ")


def _table(section: Section) -> list[str]:
    lines = [
        "| " + " | ".join(_escape(h) for h in section.headers) + " |",
        "| " + " | ".join("---:" if num else "---" for num in section.numeric) + " |",
    ]
    flags = section.invalid or ("",) * len(section.rows)
    for row, why in zip(section.rows, flags, strict=True):
        # An invalid row reads as one at a glance (Markdown has no grey): a mark before its first
        # cell, and "invalid" in its verdict or basis cell; the reason is its footnote.
        cells = [_escape(c) for c in row]
        if why:
            cells[0] = f"{INVALID_MARK} {cells[0]}"
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render_markdown(report: Report, m: Messages = ENGLISH) -> str:
    """The whole report as one Markdown document."""
    lines = [
        f"# {report.title}",
        "",
        m("report.generated", when=report.generated, version=report.toolkit_version),
        "",
    ]
    if report.programme:
        lines += [m("report.programme", name=programme_name(report, m), id=report.programme), ""]
    lines.pop()  # each section opens with its own blank line
    legend = ["", m("report.legend"), ""]
    legend.extend(f"- **{name}**: {meaning}" for name, meaning in basis_legend(m))
    for i, section in enumerate(sections(report, m)):
        if i == 1:  # the answer first, then what its figures rest on, then the tables
            lines += legend
        lines += ["", f"## {section.title}", "", section.intro, ""]
        lines += _table(section) if section.rows else [m("report.none")]
        if section.notes:
            lines.append("")
            lines.extend(f"[{i}] {_escape(n)}  " for i, n in enumerate(section.notes, 1))
    if report.notes:
        lines += ["", f"## {m('report.notes')}", ""]
        lines.extend(f"- {core_text(n, m)}" for n in report.notes)
    return "\n".join(lines) + "\n"
