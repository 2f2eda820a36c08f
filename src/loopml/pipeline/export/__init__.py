"""Exports of a pipeline for teams that already run an orchestrator (Airflow)."""
