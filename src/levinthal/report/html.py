"""A small, dependency-free HTML writer for reports: sections, tables and embedded figures."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1180px; margin: 2em auto; color: #222; }
h1 { border-bottom: 2px solid #444; } h2 { margin-top: 1.6em; border-bottom: 1px solid #bbb; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 4px 9px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; } figcaption { font-size: 0.9em; color: #555; }
.holds { color: #1a6b2a; } .breaks { color: #a3271d; } .note { color: #555; font-size: 0.9em; }
"""


class HtmlReport:
    """Accumulate report parts, then :meth:`write` one self-contained HTML file."""

    def __init__(self, title: str):
        self.title = title
        self.parts: list[str] = []

    def heading(self, text: str, level: int = 2) -> None:
        self.parts.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def paragraph(self, text: str, css: str = "") -> None:
        cls = f' class="{css}"' if css else ""
        self.parts.append(f"<p{cls}>{html.escape(text)}</p>")

    def bullets(self, items: Sequence[tuple[str, str]]) -> None:
        """Items as (css class, text)."""
        body = "".join(f'<li class="{c}">{html.escape(t)}</li>' for c, t in items)
        self.parts.append(f"<ul>{body}</ul>")

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = []
        for row in rows:
            cells = []
            for v in row:
                num = isinstance(v, int | float) and not isinstance(v, bool)
                text = _fmt(v)
                cells.append(f'<td class="num">{text}</td>' if num else f"<td>{html.escape(text)}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        self.parts.append(f"<table><tr>{head}</tr>{''.join(body)}</table>")

    def figure(self, png_path: Path, caption: str) -> None:
        data = base64.b64encode(Path(png_path).read_bytes()).decode()
        self.parts.append(
            f'<figure><img src="data:image/png;base64,{data}" style="max-width:100%">'
            f"<figcaption>{html.escape(caption)} ({html.escape(Path(png_path).name)})</figcaption></figure>"
        )

    def write(self, path: Path) -> Path:
        doc = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(self.title)}</h1>"
            + "\n".join(self.parts)
            + "</body></html>"
        )
        Path(path).write_text(doc, encoding="utf-8")
        return Path(path)


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v != v:
            return "—"
        if v == 0 or 1e-3 <= abs(v) < 1e5:
            return f"{v:.6g}"
        return f"{v:.3e}"
    return str(v)
