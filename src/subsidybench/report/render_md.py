"""A report as Markdown: the sections as pipe tables, footnotes, the basis legend and notes."""

from __future__ import annotations

from subsidybench.report.display import BASIS_LEGEND, Section, sections
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


def render_markdown(report: Report) -> str:
    """The whole report as one Markdown document."""
    lines = [
        f"# {report.title}",
        "",
        f"Generated {report.generated} by subsidybench {report.toolkit_version}.",
        "",
        "Every figure says what it rests on:",
        "",
    ]
    lines.extend(f"- **{name}**: {meaning}" for name, meaning in BASIS_LEGEND)
    for section in sections(report):
        lines += ["", f"## {section.title}", "", section.intro, ""]
        lines += _table(section) if section.rows else ["(none)"]
        if section.notes:
            lines.append("")
            lines.extend(f"[{i}] {_escape(n)}  " for i, n in enumerate(section.notes, 1))
    if report.notes:
        lines += ["", "## Notes", ""]
        lines.extend(f"- {n}" for n in report.notes)
    if report.costs.empty:
        lines += [
            "",
            "No cost section: no price was known for any run. Give --price (with --currency)"
            " or runs whose device profile has a rent.",
        ]
    return "\n".join(lines) + "\n"
