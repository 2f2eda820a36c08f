"""``to_onnx``: a scikit-learn model as an ONNX graph (skl2onnx), ready for the onnx flavor."""

from __future__ import annotations

from typing import Any

from loopml.errors import InvalidParameterError

__all__ = ["to_onnx"]


def to_onnx(model: Any, input_example: Any, *, target_opset: int | None = None) -> Any:
    """Convert ``model``; the example fixes input names and types (float32 for numbers).

    Probabilities come out as a plain tensor (no ZipMap), so ``predict_proba`` is an array.
    """
    import numpy as np

    try:
        from skl2onnx import to_onnx as convert
    except ImportError:
        raise InvalidParameterError("to_onnx needs skl2onnx: pip install 'loopml[onnx]'") from None
    example = input_example
    if type(example).__name__ == "DataFrame":
        numeric = all(k in "fiub" for k in (t.kind for t in example.dtypes))
        example = example.to_numpy(dtype=np.float32) if numeric else example
    else:
        example = np.asarray(example, dtype=np.float32)
    final = model.steps[-1][1] if hasattr(model, "steps") else model  # a Pipeline's estimator
    options = {id(final): {"zipmap": False}} if hasattr(final, "predict_proba") else None
    try:
        return convert(model, example, options=options, target_opset=target_opset)
    except (RuntimeError, ValueError, TypeError, NameError) as exc:
        raise InvalidParameterError(
            f"skl2onnx cannot convert this {type(model).__qualname__}: {exc}"
        ) from None
