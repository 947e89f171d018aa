"""Bar charts as inline SVG: no script, no style attribute (the gateway's CSP allows neither),
colours as presentation attributes, every label text-escaped."""

from __future__ import annotations

import html
from collections.abc import Sequence

WIDTH = 640
BAR_HEIGHT = 22
LABEL_WIDTH = 180
VALUE_WIDTH = 80
FILL = "#0b5cad"


def bars(title: str, rows: Sequence[tuple[str, float | None]], *, unit: str = "", maximum: float | None = None) -> str:
    """One horizontal bar per (label, value); a missing value is drawn as "–" with no bar."""
    values = [v for _, v in rows if v is not None]
    top = maximum if maximum is not None else max(values, default=0.0) or 1.0
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    height = BAR_HEIGHT * len(rows) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="0" y="16" font-size="14" font-weight="bold" fill="#1d2530">{html.escape(title)}</text>']
    for index, (label, value) in enumerate(rows):
        y = 26 + index * BAR_HEIGHT
        parts.append(f'<text x="0" y="{y + 15}" font-size="12" fill="#1d2530">{html.escape(label[:28])}</text>')
        if value is None:
            shown = "–"
        else:
            length = max(0.0, min(1.0, value / top)) * span
            parts.append(f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="{BAR_HEIGHT - 6}" '
                         f'fill="{FILL}"/>')
            shown = f"{value:.1f}{unit}"
        parts.append(f'<text x="{WIDTH - VALUE_WIDTH + 6}" y="{y + 15}" font-size="12" fill="#1d2530">'
                     f'{html.escape(shown)}</text>')
    parts.append("</svg>")
    return "".join(parts)
