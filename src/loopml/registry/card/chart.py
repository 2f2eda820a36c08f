"""A horizontal bar chart as inline SVG: the card stays one self-contained file, no matplotlib."""

from __future__ import annotations

from html import escape

WIDTH = 640
BAR = 22
GAP = 6
LABEL = 180


def bar_chart(items: list[tuple[str, float]], *, title: str = "") -> str:
    """``items`` as bars (negative values draw as zero-width); returns an ``<svg>`` element."""
    if not items:
        return ""
    top = max((v for _, v in items), default=0.0)
    scale = (WIDTH - LABEL - 70) / top if top > 0 else 0.0
    height = len(items) * (BAR + GAP) + 30
    rows = []
    for i, (label, value) in enumerate(items):
        y = 24 + i * (BAR + GAP)
        width = max(0.0, value) * scale
        rows.append(
            f'<text x="{LABEL - 8}" y="{y + BAR * 0.7:.1f}" text-anchor="end">'
            f"{escape(label[:28])}</text>"
            f'<rect x="{LABEL}" y="{y}" width="{width:.1f}" height="{BAR}" fill="#3b82f6"/>'
            f'<text x="{LABEL + width + 6:.1f}" y="{y + BAR * 0.7:.1f}">{value:.4g}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="12">'
        f'<text x="0" y="14" font-weight="bold">{escape(title)}</text>{"".join(rows)}</svg>'
    )
