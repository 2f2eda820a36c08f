"""Inline SVG charts for the HTML reports: no JavaScript, no network, one file to mail around.

A chart is a list of bars per series drawn side by side in each bin (reference and current),
with the axis labels a reader needs to see *where* a distribution moved.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["COLORS", "bars"]

COLORS = ("#4c78a8", "#f58518")  # reference, current
WIDTH, HEIGHT = 520, 180
PAD_LEFT, PAD_BOTTOM, PAD_TOP = 40, 38, 8


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.4g}"


def bars(
    series: Sequence[Sequence[float]],
    *,
    labels: Sequence[str] | None = None,
    edges: Sequence[float] | None = None,
    names: Sequence[str] = ("reference", "current"),
    title: str = "",
) -> str:
    """An SVG of grouped bars: ``series[s][i]`` is the share of series ``s`` in bin ``i``.

    Numeric bins are labelled by their ``edges`` (first, middle, last); categories by ``labels``.
    """
    bins = max((len(s) for s in series), default=0)
    top = max((max(s, default=0.0) for s in series), default=0.0) or 1.0
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_w / max(bins, 1)
    bar_w = max(slot / (len(series) + 0.5), 0.5)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="hist" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}">',
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH - 8}" '
        f'y2="{PAD_TOP + plot_h}" stroke="#999"/>',
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 8}" text-anchor="end" class="ax">{top:.0%}</text>',
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + plot_h}" text-anchor="end" class="ax">0</text>',
    ]
    for s, values in enumerate(series):
        color = COLORS[s % len(COLORS)]
        name = names[s] if s < len(names) else f"series {s}"
        for i, value in enumerate(values):
            h = plot_h * (value / top)
            x = PAD_LEFT + i * slot + s * bar_w + slot * 0.1
            y = PAD_TOP + plot_h - h
            what = labels[i] if labels and i < len(labels) else f"bin {i + 1}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.9:.1f}" height="{h:.1f}" '
                f'fill="{color}"><title>{escape(name)} · {escape(str(what))}: '
                f"{value:.2%}</title></rect>"
            )
    base = PAD_TOP + plot_h + 14
    if edges is not None and len(edges) > 1:
        mid = len(edges) // 2
        for pos, anchor in ((0, "start"), (mid, "middle"), (len(edges) - 1, "end")):
            x = PAD_LEFT + pos * slot
            parts.append(
                f'<text x="{x:.1f}" y="{base}" text-anchor="{anchor}" class="ax">'
                f"{escape(_fmt(edges[pos]))}</text>"
            )
    elif labels:
        step = max(1, len(labels) // 8)
        for i in range(0, len(labels), step):
            x = PAD_LEFT + (i + 0.5) * slot
            text = escape(str(labels[i])[:12])
            parts.append(
                f'<text x="{x:.1f}" y="{base}" text-anchor="middle" class="ax">{text}</text>'
            )
    for s, name in enumerate(names[: len(series)]):
        x = PAD_LEFT + 10 + s * 110
        parts.append(
            f'<rect x="{x}" y="{HEIGHT - 12}" width="10" height="10" fill="{COLORS[s % 2]}"/>'
            f'<text x="{x + 14}" y="{HEIGHT - 3}" class="ax">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
