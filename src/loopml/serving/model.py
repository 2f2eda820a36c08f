"""One model version being served: its loaded package, input plan, batcher and identity.

Each request's input is checked against the signature on its own (a bad request fails alone,
with a message naming the column), then the prepared inputs of a batch are concatenated and
predicted at once, and the result is split back by row counts. A model whose output cannot be
split by rows is predicted request by request instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from loopml.errors import InvalidParameterError, LoopmlError
from loopml.models.enforce import InputPlan
from loopml.models.loaded import LoadedModel
from loopml.serving.batcher import Batcher

__all__ = ["ServedModel", "ServingOptions", "load_served"]

log = logging.getLogger("loopml.serving")


@dataclass(frozen=True)
class ServingOptions:
    """How a model is served: batching on by default (no waiting window)."""

    batching: bool = True
    max_batch_size: int = 256  # rows per predict call
    max_queue: int = 1024  # requests waiting; beyond it a 503
    method: str | None = None  # the model's default method unless given


class ServedModel:
    """A :class:`LoadedModel` plus what serving needs: name, version, plan, batcher."""

    def __init__(
        self,
        model: LoadedModel,
        name: str,
        version: str,
        options: ServingOptions | None = None,
    ) -> None:
        self.model = model
        self.name = name
        self.version = version
        self.options = options or ServingOptions()
        self.plan = InputPlan(model.signature, model.manifest.wants)
        self.names: list[str] | None = (
            self.plan.names
            if self.plan.schema is not None and self.plan.schema.kind == "columns"
            else None
        )
        self.ready = False
        self.on_batch: Any = None  # set by the app: (requests, rows) -> None
        self.batcher = Batcher(
            self._predict_batch,
            max_batch_rows=self.options.max_batch_size if self.options.batching else 1,
            max_queue=self.options.max_queue,
            on_batch=lambda n, rows: self.on_batch(n, rows) if self.on_batch else None,
        )

    def prepare(self, data: Any) -> tuple[Any, int]:
        """The signature-checked input and its row count; bad input raises a 400."""
        try:
            prepared = self.plan.prepare(data)
        except LoopmlError:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidParameterError(f"the input does not fit the model: {exc}") from None
        return prepared, _rows(prepared)

    def smoke_test(self) -> None:
        """Predict on the package's input example; readiness waits for this to pass."""
        example = self.model.input_example
        if example is not None:
            self.model.predict(example, self.options.method)
        self.ready = True

    async def predict(self, data: Any) -> Any:
        prepared, rows = self.prepare(data)
        return await self.batcher.submit(prepared, rows)

    def _predict_batch(self, items: list[Any]) -> list[Any]:
        if len(items) > 1:
            joined = _concat(items)
            if joined is not None:
                try:
                    result = self.model.predict(joined, self.options.method)
                except Exception:  # one bad request must not fail the others: retry alone
                    log.debug("batched predict failed; predicting request by request")
                else:
                    parts = _split(result, [_rows(i) for i in items])
                    if parts is not None:
                        return parts
        return [self._predict_one(i) for i in items]

    def _predict_one(self, data: Any) -> Any:
        try:
            return self.model.predict(data, self.options.method)
        except LoopmlError as exc:
            return exc
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            return InvalidParameterError(f"the model could not predict on this input: {exc}")
        except Exception as exc:
            log.exception("predict failed")
            return exc


def load_served(
    uri: str, name: str | None = None, options: ServingOptions | None = None
) -> ServedModel:
    """Load ``uri`` (a model URI or package folder) with the name and version to report."""
    from pathlib import Path

    from loopml.models.load import load_model

    text = str(uri)
    if text.startswith("models:/"):  # resolve an alias once, so name, version and files agree
        from loopml.registry import get_model_version

        mv = get_model_version(text)
        model = load_model(mv.uri)
        default_name, version = mv.name, str(mv.version)
    else:
        model = load_model(uri)
        version = (model.package_hash or "")[:12] or "1"
        default_name = "model" if ":" in text else (Path(text).name or "model")
    return ServedModel(model, name or default_name, version, options)


def _rows(data: Any) -> int:
    shape = getattr(data, "shape", None)
    if shape:
        return int(shape[0])
    try:
        return len(data)
    except TypeError:
        return 1


def _concat(items: list[Any]) -> Any:
    first = items[0]
    if isinstance(first, np.ndarray):
        if all(
            isinstance(i, np.ndarray) and i.dtype == first.dtype and i.shape[1:] == first.shape[1:]
            for i in items
        ):
            return np.concatenate(items)
        return None
    if type(first).__name__ == "DataFrame":
        import pandas as pd

        if all(type(i).__name__ == "DataFrame" for i in items):
            return pd.concat(items, ignore_index=True)
    return None


def _split(result: Any, counts: list[int]) -> list[Any] | None:
    total = sum(counts)
    if _rows(result) != total or isinstance(result, dict | str):
        return None
    is_frame = type(result).__name__ in ("DataFrame", "Series")
    parts, start = [], 0
    for n in counts:
        end = start + n
        parts.append(result.iloc[start:end] if is_frame else result[start:end])
        start = end
    return parts
