"""Continuous training: triggers, gates, promotion and canary rollout, driven by policies."""
