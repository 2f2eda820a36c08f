"""Model cards: what a reviewer or regulator reads about one model version.

A card is rendered from the registry (never typed by hand): lineage, metrics, signature, input
example, approval history and, given evaluation data, permutation feature importance with a bar
chart and per-slice metrics. HTML is one self-contained file (inline CSS and SVG); Markdown suits
a pull request or a wiki.
"""

from __future__ import annotations

import importlib
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from loopml.errors import InvalidParameterError, InvalidStateError, LoopmlError
from loopml.registry.card.chart import bar_chart
from loopml.registry.card.evaluate import Evaluation, evaluate, read_table
from loopml.registry.lineage import build_lineage
from loopml.registry.package import MANIFEST_FILE

if TYPE_CHECKING:
    from loopml.store.metadata.registry_entities import ModelVersion
    from loopml.tracking.context import Context

__all__ = ["build_card", "render_card", "write_card"]

_TEMPLATES = Path(__file__).with_name("templates")
_HISTORY = ("promotion.", "alias.", "policy.", "version.status", "version.create")
EXAMPLE_ROWS = 5


def _input_example(ctx: Context, package_hash: str) -> dict[str, Any] | None:
    """The package's input example as {columns, rows}, when the manifest names a readable one."""
    try:
        folder = ctx.objects.read_manifest(package_hash)
        manifest = orjson.loads(ctx.objects.get_bytes(folder.entries[MANIFEST_FILE].hash))
        ref = manifest.get("input_example")
        if isinstance(ref, dict):
            ref = ref.get("path") or ref.get("file")
        if not isinstance(ref, str) or ref not in folder.entries:
            return None
        data = ctx.objects.get_bytes(folder.entries[ref].hash)
        import pandas as pd

        if ref.endswith(".parquet"):
            frame = pd.read_parquet(io.BytesIO(data))
        elif ref.endswith(".csv"):
            frame = pd.read_csv(io.BytesIO(data))
        else:
            body = orjson.loads(data)
            body = body.get("data", body) if isinstance(body, dict) else body
            try:
                frame = pd.DataFrame(body)
            except ValueError:  # one row of scalars
                frame = pd.DataFrame([body])
    except (LoopmlError, KeyError, ValueError, TypeError, orjson.JSONDecodeError):
        return None
    head = frame.head(EXAMPLE_ROWS)
    return {
        "columns": [str(c) for c in head.columns],
        "rows": [[_cell(v) for v in row] for row in head.itertuples(index=False)],
    }


def _cell(value: Any) -> str:
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _load_model(uri: str) -> Any:
    try:
        models = importlib.import_module("loopml.models")
    except ImportError:
        raise InvalidStateError(
            "feature importance needs the model package (loopml.models) to load the model"
        ) from None
    return models.load_model(uri)


def _signature_rows(signature: dict[str, Any] | None, side: str) -> list[dict[str, str]]:
    if not signature:
        return []
    items = signature.get(side) or []
    if isinstance(items, dict):  # loopml's {"kind": "columns" | "tensor", ...}
        if items.get("kind") == "tensor":
            items = [{"name": "(tensor)", "dtype": items.get("dtype"), "shape": items.get("shape")}]
        else:
            items = items.get("columns") or []
    rows = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            shape = item.get("shape")
            rows.append(
                {
                    "name": str(item.get("name", "")),
                    "type": str(item.get("type") or item.get("dtype") or ""),
                    "shape": "" if shape is None else str(shape),
                }
            )
    return rows


def build_card(
    uri: str,
    *,
    data: Any = None,
    target: str | None = None,
    slice_column: str | None = None,
    model: Any = None,
) -> dict[str, Any]:
    """Everything a card shows, as data. ``data`` is a DataFrame or a .parquet/.csv path;
    ``model`` defaults to ``loopml.load_model(uri)`` (needed only with ``data``)."""
    from loopml.registry._stores import context, registry_store
    from loopml.registry.resolve import resolve_version
    from loopml.store.metadata.registry_entities import RequestStatus

    if data is not None and not target:
        raise InvalidParameterError("feature importance needs the label column: add --target")
    if data is None and (target or slice_column):
        raise InvalidParameterError("--target and --slice-column need evaluation data: add --data")
    ctx = context()
    store = registry_store(ctx)
    version: ModelVersion = resolve_version(store, uri)
    evaluation: Evaluation | None = None
    if data is not None:
        frame = read_table(data) if isinstance(data, str | os.PathLike) else data
        assert target is not None
        inputs = _signature_rows(version.signature, "inputs")
        names = [row["name"] for row in inputs if row["name"] and row["name"] != "(tensor)"]
        evaluation = evaluate(
            model if model is not None else _load_model(version.uri),
            frame,
            target,
            slice_column=slice_column,
            features=names or None,
        )
    events = [e for e in store.list_events(version.name) if e.action.startswith(_HISTORY)]
    events = [e for e in events if e.version in (None, version.version) or e.alias]
    requests = [
        r
        for r in store.list_promotion_requests(version.name)
        if r.version == version.version or r.status is RequestStatus.PENDING
    ]
    chart = ""
    if evaluation is not None and evaluation.importance:
        chart = bar_chart(
            [(row["feature"], row["mean"]) for row in evaluation.importance[:20]],
            title="Permutation importance (drop in "
            + ("accuracy" if evaluation.task == "classification" else "R²")
            + " when shuffled)",
        )
    return {
        "version": version.to_dict(),
        "lineage": build_lineage(version, ctx.metadata),
        "inputs": _signature_rows(version.signature, "inputs"),
        "outputs": _signature_rows(version.signature, "outputs"),
        "input_example": _input_example(ctx, version.package_hash),
        "evaluation": evaluation,
        "chart": chart,
        "history": [e.to_dict() for e in events],
        "requests": [r.to_dict() for r in requests],
    }


def _fmt_ms(ms: int | None) -> str:
    from datetime import UTC, datetime

    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _fmt_num(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if value != value else f"{value:.4g}"
    return str(value)


def render_card(card: dict[str, Any], fmt: str) -> str:
    """The card as ``"html"`` or ``"md"`` text."""
    import jinja2
    from markupsafe import Markup

    if fmt not in ("html", "md"):
        raise InvalidParameterError(f"a model card is html or md, not {fmt!r}")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=jinja2.select_autoescape(["html.j2"], default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["ms"] = _fmt_ms
    env.filters["num"] = _fmt_num
    env.filters["md"] = lambda v: str(v).replace("|", "\\|").replace("\n", " ")
    return env.get_template(f"card.{fmt}.j2").render(
        # the chart is SVG built by ``chart.bar_chart``, which escapes every label itself
        card=card,
        chart=Markup(card["chart"]),  # noqa: S704
    )


def write_card(
    uri: str,
    output: str | os.PathLike[str],
    *,
    data: Any = None,
    target: str | None = None,
    slice_column: str | None = None,
    model: Any = None,
) -> Path:
    """Render the card of ``uri`` to ``output`` (``.html`` or ``.md`` decides the format)."""
    path = Path(output)
    suffix = path.suffix.lower()
    fmt = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md"}.get(suffix)
    if fmt is None:
        raise InvalidParameterError(
            f"write the card to a .html or .md file, not {str(path)!r} (-o card.html)"
        )
    card = build_card(uri, data=data, target=target, slice_column=slice_column, model=model)
    text = render_card(card, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
