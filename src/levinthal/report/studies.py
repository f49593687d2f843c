"""A case study's section of a report: its verdicts, numbers with uncertainties, tables,
figures and the two-sentence reading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from levinthal.report.html import HtmlReport

__all__ = ["add_study_section", "write_study_report"]


def add_study_section(rep: HtmlReport, result: Any) -> None:
    """Append ``result`` (a :class:`~levinthal.studies.base.StudyResult`) to ``rep``."""
    rep.heading(f"Study: {result.title}")
    if result.reading:
        rep.paragraph(result.reading)
    if result.verdicts:
        rep.bullets(result.verdicts)
    if result.numbers:
        rep.table(["quantity", "measured", "note"],
                  [[k, m.text(), m.note] for k, m in result.numbers.items()])
    for name, (header, rows) in result.tables.items():
        rep.paragraph(name, css="note")
        rep.table(header, rows)
    for path, caption in result.figures:
        if Path(path).exists():
            rep.figure(Path(path), caption)
    rep.paragraph(f"Configuration: {result.config}; {result.seconds:.1f} s.", css="note")


def write_study_report(results: list[Any], path: Path, title: str = "levinthal case studies") -> Path:
    """One HTML file with a section per study result."""
    rep = HtmlReport(title)
    for r in results:
        add_study_section(rep, r)
    return rep.write(Path(path))
