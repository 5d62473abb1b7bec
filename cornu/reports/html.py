"""Self-contained HTML: one file, pictures as base64 data URIs, styles inline, no links
to anything outside it and no scripts. Every text is escaped.

    page("Run report", [section("timings", "Timings", table(["what", "s"], rows))])
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from typing import Any

__all__ = ["details", "figures", "image", "page", "paragraph", "preformatted", "section",
           "table"]

_STYLE = """
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5rem auto;
       max-width: 1160px; padding: 0 1rem; color: #1d2330; line-height: 1.45;
       -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; border-bottom: 1px solid #d8dde6; padding-bottom: .2rem;
     margin-top: 2rem; }
.scroll { max-width: 100%; overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; margin: .5rem 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d8dde6; padding: .2rem .55rem; text-align: right; }
th { background: #f1f3f7; }
td:first-child, th:first-child { text-align: left; }
pre { background: #f6f7f9; padding: .8rem; overflow-x: auto; font-size: .85rem; }
img { max-width: 100%; height: auto; display: block; }
.figures { display: flex; flex-wrap: wrap; gap: 1rem 2rem; align-items: flex-start; }
.figures > * { min-width: 0; max-width: 100%; }
p.note { color: #5a6270; font-size: .9rem; }
nav { line-height: 1.9; }
nav a { margin-right: .8rem; white-space: nowrap; }
details summary { cursor: pointer; color: #2b5797; margin: .4rem 0; }
@media (max-width: 600px) {
  body { margin: 1rem auto; padding: 0 .6rem; }
  h1 { font-size: 1.35rem; }
  th, td { padding: .15rem .4rem; }
  pre { font-size: .72rem; padding: .5rem; }
}
"""


def _text(value: Any) -> str:
    return html.escape(str(value), quote=True)


def image(png: bytes, alt: str, width: int | None = None) -> str:
    """An <img> holding the PNG bytes as a data URI; `width`: the CSS pixels it is shown
    at on a wide screen (it shrinks to fit a narrow one)."""
    data = base64.b64encode(png).decode("ascii")
    size = f' width="{int(width)}"' if width else ""
    return f'<img alt="{_text(alt)}"{size} src="data:image/png;base64,{data}">'


def table(header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> str:
    """A table in a box that scrolls sideways when the table is wider than the screen."""
    head = "".join(f"<th>{_text(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_text(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}'
            "</tbody></table></div>")


def figures(*parts: str) -> str:
    """Parts (HTML) side by side on a wide screen, one under the other on a narrow one."""
    return '<div class="figures">' + "".join(f"<div>{p}</div>" for p in parts) + "</div>"


def details(summary: str, *parts: str) -> str:
    """Parts (HTML) folded under a one-line summary that opens them."""
    return f"<details><summary>{_text(summary)}</summary>\n" + "\n".join(parts) + "</details>"


def preformatted(text: str) -> str:
    return f"<pre>{_text(text)}</pre>"


def paragraph(text: str, note: bool = False) -> str:
    opening = '<p class="note">' if note else "<p>"
    return f"{opening}{_text(text)}</p>"


def section(anchor: str, title: str, *parts: str) -> tuple[str, str, str]:
    """(anchor, title, inner HTML): `parts` are already HTML (from the helpers here)."""
    return anchor, title, "\n".join(parts)


def page(title: str, sections: Sequence[tuple[str, str, str]], subtitle: str = "") -> str:
    """The whole document; a contents line links to each section's anchor."""
    nav = " ".join(f'<a href="#{_text(a)}">{_text(t)}</a>' for a, t, _ in sections)
    body = "\n".join(f'<section id="{_text(a)}">\n<h2>{_text(t)}</h2>\n{inner}\n</section>'
                     for a, t, inner in sections)
    sub = paragraph(subtitle, note=True) if subtitle else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_text(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{_text(title)}</h1>\n{sub}\n<nav>{nav}</nav>\n{body}\n</body>\n</html>\n")
