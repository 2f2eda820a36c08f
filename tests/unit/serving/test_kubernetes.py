"""The Kubernetes export: every document parses and holds what the API server requires."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from loopml.cli.main import app
from loopml.serving import create_deployment
from loopml.serving.kubernetes import image_for

REQUIRED = {"apiVersion", "kind", "metadata", "spec"}


def _docs(folder: Path, file: str) -> list[dict]:  # type: ignore[type-arg]
    return [d for d in yaml.safe_load_all((folder / file).read_text()) if d]


def test_canary_export(project: Path, tmp_path: Path) -> None:
    create_deployment(
        "churn-prod", "models:/churn@champion", canary="models:/churn/7", canary_weight=25
    )
    out = tmp_path / "k8s"
    result = CliRunner().invoke(
        app,
        [
            "deploy",
            "export",
            "churn-prod",
            "--to",
            "kubernetes",
            "-o",
            str(out),
            "--replicas",
            "4",
            "--image-prefix",
            "reg.local/",
        ],
    )
    assert result.exit_code == 0, result.output
    deployments = _docs(out, "deployment.yaml")
    assert [d["metadata"]["name"] for d in deployments] == ["churn-prod-main", "churn-prod-canary"]
    assert [d["spec"]["replicas"] for d in deployments] == [3, 1]
    (service,) = _docs(out, "service.yaml")
    (hpa,) = _docs(out, "hpa.yaml")
    (isvc,) = _docs(out, "inferenceservice.yaml")
    for doc in [*deployments, service, hpa, isvc]:
        assert set(doc) >= REQUIRED
    for d in deployments:
        spec = d["spec"]
        assert (
            spec["selector"]["matchLabels"].items()
            <= spec["template"]["metadata"]["labels"].items()
        )
        # the Service selects every route's pods
        assert service["spec"]["selector"].items() <= spec["template"]["metadata"]["labels"].items()
        (container,) = spec["template"]["spec"]["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
        assert container["ports"][0]["containerPort"] == 8080
    images = [d["spec"]["template"]["spec"]["containers"][0]["image"] for d in deployments]
    assert images == ["reg.local/churn:champion", "reg.local/churn:7"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "churn-prod-main"
    assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1"
    assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == 25


def test_single_route_export_and_image_names(project: Path, tmp_path: Path) -> None:
    from loopml.serving.config import DeploymentConfig
    from loopml.serving.kubernetes import export_kubernetes

    files = export_kubernetes(
        "Svc_One", DeploymentConfig.single("models:/churn/3"), tmp_path, kserve=False
    )
    assert sorted(f.name for f in files) == ["deployment.yaml", "hpa.yaml", "service.yaml"]
    (dep,) = _docs(tmp_path, "deployment.yaml")
    assert dep["metadata"]["name"] == "svc-one"
    assert image_for("models:/churn@champion") == "churn:champion"
    assert image_for("runs:/abc/model") == "abc:model"
