"""Experiment tracking: experiments, runs, params, metrics, tags, artifacts and provenance."""

from loopml.tracking.client import TrackingClient
from loopml.tracking.context import configure, get_context

__all__ = ["TrackingClient", "configure", "get_context"]
