"""Helpers shared by test suites: ``services`` (reaching services), ``s3`` (a moto S3 server)."""
