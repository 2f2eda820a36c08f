"""Rendering the data-quality HTML pages (drift, profile) from Jinja2 templates.

Templates live in ``loopml/data/templates``; autoescaping is on, and the only raw HTML inserted
is the SVG that :mod:`loopml.data._svg` builds with every user value escaped.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from loopml.data._svg import bars

if TYPE_CHECKING:
    import jinja2

    from loopml.data.profiling import DatasetProfile

__all__ = ["chart", "render", "render_profile"]


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("loopml.data", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    return env


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-4):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}g}"
    return str(value)


def chart(plot: dict[str, Any], title: str = "", names: tuple[str, ...] = ()) -> Any:
    """The SVG of a plot dict (numeric edges or categories), marked safe for the template."""
    from markupsafe import Markup

    series = [plot.get("reference", []), plot.get("current", [])]
    series = [s for s in series if s]
    if plot.get("kind") == "numeric":
        svg = bars(series, edges=plot["edges"], title=title, names=names or _NAMES)
    else:
        svg = bars(series, labels=plot.get("categories", []), title=title, names=names or _NAMES)
    return Markup(svg)  # noqa: S704 (every value inside was escaped by _svg)


_NAMES = ("reference", "current")


def render(template: str, **context: Any) -> str:
    return _env().get_template(template).render(chart=chart, **context)


def render_profile(prof: DatasetProfile) -> str:
    columns = []
    for col in prof.columns.values():
        plot: dict[str, Any] = {}
        if col.histogram is not None:
            counts = col.histogram["counts"]
            total = sum(counts) or 1
            plot = {
                "kind": "numeric",
                "edges": col.histogram["edges"],
                "reference": [c / total for c in counts],
            }
        elif col.top:
            total = col.present or 1
            plot = {
                "kind": "categorical",
                "categories": [str(v) for v, _ in col.top[:20]],
                "reference": [n / total for _, n in col.top[:20]],
            }
        columns.append((col, plot))
    return render("profile.html.j2", profile=prof, columns=columns, names=("share",))
