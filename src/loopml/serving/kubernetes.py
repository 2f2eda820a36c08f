"""``loopml deploy export --to kubernetes``: manifests around the serving image.

Each route becomes a Kubernetes Deployment running the image that ``loopml models dockerfile``
builds for its model (``loopml serve /opt/model`` on port 8080), with readiness and liveness
probes on the health routes. One Service selects every route's pods, so traffic splits by
replica count in proportion to the weights; an HPA scales the main route. A KServe
``InferenceService`` is written too, with ``canaryTrafficPercent`` when there is a canary.
A/B stickiness and shadows need the in-process router: those deployments are exported as one
pod running ``loopml deploy serve``, noted in the files.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from loopml.errors import InvalidParameterError
from loopml.serving.config import DeploymentConfig, Route

__all__ = ["export_kubernetes", "image_for"]

PORT = 8080


def image_for(uri: str, prefix: str = "") -> str:
    """The image tag a model URI's package is built as: ``models:/churn/7`` -> ``churn:7``."""
    text = re.sub(r"^(models:/|runs:/|obj:)", "", uri)
    name, rest = ([*re.split(r"[/@]", text, maxsplit=1), ""])[:2]
    tag = re.sub(r"[^A-Za-z0-9_.-]", "-", rest)[:128] or "latest"
    return f"{prefix}{_dns(name)}:{tag}"


def export_kubernetes(
    name: str,
    config: DeploymentConfig,
    out: Path,
    *,
    image_prefix: str = "",
    replicas: int = 2,
    max_replicas: int = 10,
    cpu: str = "500m",
    memory: str = "1Gi",
    kserve: bool = True,
) -> list[Path]:
    """Write the manifests for deployment ``name`` into ``out``; returns the files."""
    import yaml

    if replicas < 1 or max_replicas < replicas:
        raise InvalidParameterError("need 1 <= replicas <= max_replicas")
    app = _dns(name)
    out.mkdir(parents=True, exist_ok=True)
    docs: dict[str, list[dict[str, Any]]] = {"deployment.yaml": [], "service.yaml": []}
    routes = [r for r in config.routes if r.weight > 0]
    for route in routes:
        count = max(1, round(replicas * route.weight / 100))
        docs["deployment.yaml"].append(
            _deployment(app, route, count, image_prefix, cpu, memory, len(routes) > 1)
        )
    docs["service.yaml"].append(_service(app))
    main = _workload(app, routes[0], len(routes) > 1)
    docs["hpa.yaml"] = [_hpa(app, main, replicas, max_replicas)]
    if kserve:
        docs["inferenceservice.yaml"] = [_inference_service(app, config, image_prefix, cpu, memory)]
    written = []
    for file, items in docs.items():
        path = out / file
        header = f"# loopml deploy export {name} ({config.kind}); generated, edit the deployment instead\n"
        if config.sticky_header or config.shadows:
            header += (
                "# note: sticky A/B and shadows need `loopml deploy serve` in one pod; replica "
                "weights give an unsticky split\n"
            )
        path.write_text(header + yaml.safe_dump_all(items, sort_keys=False))
        written.append(path)
    return written


def _labels(app: str, route: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": app, "loopml.dev/route": route}


def _workload(app: str, route: Route, several: bool) -> str:
    return f"{app}-{_dns(route.name)}" if several else app


def _container(image: str, cpu: str, memory: str) -> dict[str, Any]:
    probe = {"httpGet": {"path": "/v2/health/ready", "port": PORT}, "periodSeconds": 5}
    return {
        "name": "model",
        "image": image,
        "ports": [{"name": "http", "containerPort": PORT}],
        "readinessProbe": {**probe, "initialDelaySeconds": 2},
        "livenessProbe": {
            "httpGet": {"path": "/v2/health/live", "port": PORT},
            "periodSeconds": 10,
            "initialDelaySeconds": 10,
        },
        "resources": {
            "requests": {"cpu": cpu, "memory": memory},
            "limits": {"memory": memory},
        },
    }


def _deployment(
    app: str, route: Route, count: int, prefix: str, cpu: str, memory: str, several: bool
) -> dict[str, Any]:
    labels = _labels(app, _dns(route.name))
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": _workload(app, route, several),
            "labels": labels,
            "annotations": {
                "loopml.dev/model": route.model,
                "loopml.dev/weight": str(route.weight),
            },
        },
        "spec": {
            "replicas": count,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [_container(image_for(route.model, prefix), cpu, memory)]},
            },
        },
    }


def _service(app: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": app, "labels": {"app.kubernetes.io/name": app}},
        "spec": {
            "selector": {"app.kubernetes.io/name": app},
            "ports": [{"name": "http", "port": 80, "targetPort": PORT, "protocol": "TCP"}],
        },
    }


def _hpa(app: str, target: str, low: int, high: int) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": target},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": low,
            "maxReplicas": high,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }


def _inference_service(
    app: str, config: DeploymentConfig, prefix: str, cpu: str, memory: str
) -> dict[str, Any]:
    routes = {r.name: r for r in config.routes}
    canary = routes.get("canary")
    served = canary or config.routes[0]
    container = _container(image_for(served.model, prefix), cpu, memory)
    container["name"] = "kserve-container"
    predictor: dict[str, Any] = {"containers": [container]}
    if canary is not None:
        # KServe splits between the last ready revision (the main model) and this spec.
        predictor["canaryTrafficPercent"] = canary.weight
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": app, "annotations": {"loopml.dev/model": served.model}},
        "spec": {"predictor": predictor},
    }


def _dns(name: str) -> str:
    """A DNS-1123 label: lower case letters, digits and '-', at most 63 characters."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].strip("-")
    if not label:
        raise InvalidParameterError(f"{name!r} gives no valid Kubernetes name")
    return label
