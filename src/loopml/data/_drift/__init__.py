"""Drift statistics, test choice and reports behind :func:`loopml.data.drift`.

Private: the public names (``drift``, ``DriftReport``, ``ColumnDrift``, ``DriftReference``) are
reached through :mod:`loopml.data`, whose ``drift`` must stay a function (a public ``drift``
subpackage would shadow it once imported).
"""
