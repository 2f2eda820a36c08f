"""``build_env`` for real: a fresh venv from a package's pinned requirements loads and predicts.

Slow (it installs scikit-learn, numpy and loopml into a new venv; wheels come from pip's cache
after the first run), so it runs once, for a small sklearn model.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from loopml.models import build_env, save_model

np = pytest.importorskip("numpy")
pytest.importorskip("sklearn")


@pytest.mark.slow
def test_build_env_loads_and_predicts_in_a_fresh_venv(tmp_path: Path) -> None:
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    model = DecisionTreeClassifier(max_depth=3).fit(x, (x[:, 0] > 0).astype(int))
    package = tmp_path / "pkg"
    save_model(model, package, input_example=x[:4])

    built = build_env(package, tmp_path / "venv")

    assert built.ok, built.to_dict()
    assert built.same_as_here is True
    assert built.output == model.predict(x[:4]).tolist()
    assert (tmp_path / "venv" / "pyvenv.cfg").is_file()
    assert any(r.startswith("scikit-learn==") for r in built.installed)
