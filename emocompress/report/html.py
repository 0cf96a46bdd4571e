"""HTML from the report's Markdown: the subset markdown.py writes (headings, paragraphs,
pipe tables, fenced code, bullet lists, images, links, bold, italics, inline code).

A small converter instead of a Markdown library: the document's syntax is ours, and the
project carries no Markdown dependency.
"""

from __future__ import annotations

import html
import re

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       line-height: 1.45; color: #222; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.55em; }
th { background: #f3f3f3; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; }
code { font-size: 0.9em; }
img { max-width: 100%; }
"""


def to_html(markdown: str, title: str = "emocompress report") -> str:
    body: list[str] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            end = next(
                (j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines)
            )
            body.append(
                "<pre><code>" + html.escape("\n".join(lines[i + 1 : end])) + "</code></pre>"
            )
            i = end + 1
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
            i += 1
        elif line.startswith("|"):
            end = i
            while end < len(lines) and lines[end].startswith("|"):
                end += 1
            body.append(_table(lines[i:end]))
            i = end
        elif line.startswith("- "):
            end = i
            while end < len(lines) and lines[end].startswith("- "):
                end += 1
            body.append(
                "<ul>" + "".join(f"<li>{_inline(x[2:])}</li>" for x in lines[i:end]) + "</ul>"
            )
            i = end
        elif line.strip():
            end = i
            while (
                end < len(lines)
                and lines[end].strip()
                and not lines[end].startswith(("#", "|", "```", "- "))
            ):
                end += 1
            body.append("<p>" + _inline(" ".join(lines[i:end])) + "</p>")
            i = end
        else:
            i += 1
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{_STYLE}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _cells(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [c.strip().replace("\\|", "|") for c in cells]


def _table(lines: list[str]) -> str:
    header, rule, *rows = lines
    right = [c.endswith(":") for c in _cells(rule)]

    def row(cells: list[str], tag: str) -> str:
        return (
            "<tr>"
            + "".join(
                f"<{tag}{' class=r' if right[k] else ''}>{_inline(c)}</{tag}>"
                for k, c in enumerate(cells)
            )
            + "</tr>"
        )

    return (
        "<table>"
        + row(_cells(header), "th")
        + "".join(row(_cells(r), "td") for r in rows)
        + "</table>"
    )


def _inline(text: str) -> str:
    """Escape, then turn code, images, links, bold and italics into tags (code first, so
    nothing inside backticks is interpreted)."""
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) >= 2:
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
            continue
        s = html.escape(part, quote=False)
        s = re.sub(r"!\[([^\]]*)\]\(([^)]+)\)", r'<img alt="\1" src="\2">', s)
        s = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r'<a href="\2">\1</a>', s)
        s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
        s = re.sub(r"(?<![\w*])\*([^*]+?)\*(?![\w*])", r"<em>\1</em>", s)
        out.append(s)
    return "".join(out)
