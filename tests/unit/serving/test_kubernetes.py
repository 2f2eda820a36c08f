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


# KServe's PredictorSpec is a PodSpec plus these ComponentExtensionSpec fields.
_KSERVE_EXTENSION = {"minReplicas", "maxReplicas", "canaryTrafficPercent", "scaleTarget"}
_MODELS = {
    "Deployment": "V1Deployment",
    "Service": "V1Service",
    "HorizontalPodAutoscaler": "V2HorizontalPodAutoscaler",
}


def _round_trip(api: object, doc: dict, model: str) -> None:  # type: ignore[type-arg]
    """Deserialize into the Kubernetes client's model (required fields and types checked) and
    back: a misspelled or unknown field is dropped on the way, so the two would differ."""
    obj = api._ApiClient__deserialize(doc, model)  # type: ignore[attr-defined]
    assert api.sanitize_for_serialization(obj) == doc, model  # type: ignore[attr-defined]


def test_every_export_validates_against_the_kubernetes_api_models(
    project: Path, tmp_path: Path
) -> None:
    import pytest

    kubernetes = pytest.importorskip("kubernetes")
    from kubernetes.utils import parse_quantity

    from loopml.serving.config import DeploymentConfig, Route
    from loopml.serving.kubernetes import export_kubernetes

    api = kubernetes.client.ApiClient()
    configs = {
        "single": DeploymentConfig.single("models:/churn@champion"),
        "canary": DeploymentConfig(
            routes=(Route("main", "models:/churn/6", 90), Route("canary", "models:/churn/7", 10))
        ),
        "ab": DeploymentConfig(
            routes=(Route("a", "models:/churn/6", 50), Route("b", "models:/churn/7", 50)),
            sticky_header="X-User-Id",
        ),
        "shadow": DeploymentConfig.single("models:/churn/6", shadows=("models:/churn/8",)),
    }
    seen = set()
    for name, config in configs.items():
        out = tmp_path / name
        for file in export_kubernetes(name, config, out):
            for doc in _docs(out, file.name):
                seen.add(doc["kind"])
                if doc["kind"] == "InferenceService":
                    predictor = dict(doc["spec"]["predictor"])
                    percent = predictor.get("canaryTrafficPercent", 100)
                    assert isinstance(percent, int) and 0 <= percent <= 100
                    assert set(predictor) - {"containers"} <= _KSERVE_EXTENSION
                    pod = {k: v for k, v in predictor.items() if k not in _KSERVE_EXTENSION}
                    _round_trip(api, pod, "V1PodSpec")
                    _round_trip(api, doc["metadata"], "V1ObjectMeta")
                    continue
                _round_trip(api, doc, _MODELS[doc["kind"]])
                if doc["kind"] == "Deployment":
                    for c in doc["spec"]["template"]["spec"]["containers"]:
                        for quantity in c["resources"]["requests"].values():
                            parse_quantity(quantity)  # raises on a malformed quantity
    assert seen == {"Deployment", "Service", "HorizontalPodAutoscaler", "InferenceService"}
