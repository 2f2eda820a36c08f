"""Monitoring: windows over serving payload logs, drift against the training reference, alerts."""
