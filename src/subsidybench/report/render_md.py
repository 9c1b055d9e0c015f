"""A report as Markdown: the sections as pipe tables, footnotes, the basis legend and notes."""

from __future__ import annotations

from subsidybench.report.display import Section, basis_legend, programme_name, sections
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
    lines.extend("| " + " | ".join(_escape(c) for c in row) + " |" for row in section.rows)
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
    lines += [m("report.legend"), ""]
    lines.extend(f"- **{name}**: {meaning}" for name, meaning in basis_legend(m))
    for section in sections(report, m):
        lines += ["", f"## {section.title}", "", section.intro, ""]
        lines += _table(section) if section.rows else [m("report.none")]
        if section.notes:
            lines.append("")
            lines.extend(f"[{i}] {_escape(n)}  " for i, n in enumerate(section.notes, 1))
    if report.notes:
        lines += ["", f"## {m('report.notes')}", ""]
        lines.extend(f"- {n}" for n in report.notes)
    if report.costs.empty:
        lines += ["", m("report.no_costs")]
    return "\n".join(lines) + "\n"
