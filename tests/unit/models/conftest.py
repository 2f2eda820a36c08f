"""Small real training data for the flavor tests: a frame with a text column, and arrays."""

from __future__ import annotations

from typing import Any

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")


@pytest.fixture(scope="session")
def churn() -> tuple[Any, Any]:
    """200 customers: two numeric features, an int count, a text plan; binary label."""
    rng = np.random.default_rng(7)
    n = 200
    frame = pd.DataFrame(
        {
            "tenure": rng.normal(12, 4, n),
            "spend": rng.normal(50, 10, n),
            "tickets": rng.integers(0, 5, n),
            "plan": rng.choice(["basic", "pro", "team"], n),
        }
    )
    label = ((frame["tenure"] < 12) & (frame["tickets"] > 1)).astype(int).to_numpy()
    return frame, label


@pytest.fixture(scope="session")
def arrays() -> tuple[Any, Any]:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(150, 4))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    return x, y
