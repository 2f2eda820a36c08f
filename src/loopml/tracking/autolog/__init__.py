"""Autologging: track library calls (``fit``) without changing the user's training code."""
