"""The two stores every capability builds on: metadata (SQL) and objects (content-addressed)."""
