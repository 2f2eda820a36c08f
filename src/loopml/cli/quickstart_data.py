"""The demo's data: a synthetic, churn-like customer table made by numpy (no download).

Customers have a tenure, a monthly bill, support calls, data usage, an age and a ``plan``
(a categorical column the CT gates slice by). Whether a customer churned follows a fixed,
non-linear rule plus noise. ``shifted=True`` draws the customers of a later period: a price rise
(higher ``monthly_charges``), newer customers (lower ``tenure_months``) and more support calls,
a real covariate shift on a few features that moves part of the population outside what the
first model saw, so a model retrained on the new snapshot does better there.
"""

from __future__ import annotations

from typing import Any

DATASET = "customers"
TARGET = "churned"
PLANS = ("basic", "standard", "premium")
FEATURES = (
    "tenure_months",
    "monthly_charges",
    "support_calls",
    "usage_gb",
    "age",
    "plan",
)
SHIFTED = ("monthly_charges", "tenure_months", "support_calls")


def customers(n: int, *, seed: int, shifted: bool = False) -> Any:
    """``n`` customers as a pandas DataFrame with the label column ``churned``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    plan = rng.choice(np.array(PLANS, dtype=object), size=n, p=(0.5, 0.3, 0.2))
    base_price = np.select([plan == "basic", plan == "standard"], [35.0, 60.0], 85.0)
    tenure = rng.gamma(2.0, 14.0 if not shifted else 8.0, size=n).clip(1, 72).round()
    price = base_price + rng.normal(0, 8, size=n) + (18.0 if shifted else 0.0)
    calls = rng.poisson(1.2 if not shifted else 2.4, size=n)
    usage = rng.gamma(2.5, 6.0, size=n).round(1)
    age = rng.integers(18, 80, size=n)
    frame = pd.DataFrame(
        {
            "tenure_months": tenure.astype("int64"),
            "monthly_charges": price.round(2),
            "support_calls": calls.astype("int64"),
            "usage_gb": usage,
            "age": age.astype("int64"),
            "plan": pd.Series(plan, dtype=object),
        }
    )
    score = churn_logit(frame)
    frame[TARGET] = (rng.random(n) < 1.0 / (1.0 + np.exp(-score))).astype("int64")
    return frame


def churn_logit(frame: Any) -> Any:
    """The ground truth: short tenure, a bill above what the plan is worth and many support
    calls make customers leave; premium customers are the most loyal."""
    import numpy as np

    plan = frame["plan"].to_numpy()
    fair = np.select([plan == "basic", plan == "standard"], [40.0, 65.0], 90.0)
    overpay = np.maximum(frame["monthly_charges"].to_numpy() - fair, 0.0)
    calls = frame["support_calls"].to_numpy()
    return (
        -0.4
        - 0.1 * frame["tenure_months"].to_numpy()
        + 0.15 * overpay
        + 0.9 * np.maximum(calls - 2, 0)
        - 0.02 * frame["usage_gb"].to_numpy()
        + np.select([plan == "basic", plan == "standard"], [0.4, 0.0], -0.8)
    )


def features(frame: Any) -> Any:
    """The columns a client sends to the model (everything but the label)."""
    return frame[list(FEATURES)]
