"""Pipelines: ``@step`` functions wired by a ``@pipeline`` into a DAG whose steps are cached by content."""
