"""``loopml.sklearn.autolog()``: the scikit-learn integration, where users look for it."""

from loopml.tracking.autolog.sklearn import autolog

__all__ = ["autolog"]
