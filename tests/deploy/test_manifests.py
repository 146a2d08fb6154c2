"""The Kubernetes manifests under deploy/k8s: they render, validate against the Kubernetes 1.30
schemas (strict), and keep the properties ops reviewers rely on. No cluster needed: kustomize
and kubernetes-validate are installed in the virtualenv next to the interpreter.
"""

from __future__ import annotations

import base64
import functools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.events.topics import all_topics

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BIN = Path(sys.executable).parent
KUBECTL = BIN / "kubectl"
KUBERNETES_VALIDATE = BIN / "kubernetes-validate"
KUBERNETES_VERSION = "1.30.0"

# Every service in the repository (a services/<name>/main.py), so new ones are covered here too.
SERVICES = {path.parent.name for path in (ROOT / "services").glob("*/main.py")}
OVERLAYS = ["local", "production"]
PUBLIC_TOPICS = ["interactions", "engagement", "cases", "replies", "guidelines", "alerts"]
PLACEHOLDER = "CHANGE-ME"

Resource = dict[str, Any]


def run(command: list[str | Path], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    for tool in (KUBECTL, KUBERNETES_VALIDATE):
        assert tool.exists(), f"{tool.name} is missing from the virtualenv: run `uv sync`"
    return subprocess.run(
        [str(part) for part in command],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@functools.cache
def render(directory: Path) -> str:
    result = run([KUBECTL, "kustomize", directory])
    assert result.returncode == 0, result.stderr
    return result.stdout


def resources(directory: Path) -> list[Resource]:
    return [doc for doc in yaml.safe_load_all(render(directory)) if doc]


def of_kind(docs: list[Resource], kind: str) -> list[Resource]:
    return [doc for doc in docs if doc["kind"] == kind]


def validate(manifests: str) -> subprocess.CompletedProcess[str]:
    return run(
        [KUBERNETES_VALIDATE, "--strict", "-k", KUBERNETES_VERSION, "--quiet", "-"],
        stdin=manifests,
    )


def app_deployments(docs: list[Resource]) -> list[Resource]:
    return [
        doc
        for doc in of_kind(docs, "Deployment")
        if doc["metadata"]["labels"].get("app.kubernetes.io/part-of") == "socialcare"
    ]


def assert_hardened(pod: Resource, name: str) -> None:
    spec = pod["spec"]
    pod_security = spec.get("securityContext", {})
    assert spec.get("automountServiceAccountToken") is False, name
    assert spec.get("serviceAccountName") == "socialcare", name
    for container in spec["containers"]:
        security = container.get("securityContext", {})
        where = f"{name}/{container['name']}"
        run_as_non_root = security.get("runAsNonRoot", pod_security.get("runAsNonRoot"))
        assert run_as_non_root is True, where
        assert security.get("readOnlyRootFilesystem") is True, where
        assert security.get("allowPrivilegeEscalation") is False, where
        assert security.get("capabilities", {}).get("drop") == ["ALL"], where
        seccomp = security.get("seccompProfile", pod_security.get("seccompProfile", {}))
        assert seccomp.get("type") == "RuntimeDefault", where
        limits = container.get("resources", {})
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(limits.get(bound, {})), f"{where} {bound}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_validates_strictly(overlay: str) -> None:
    result = validate(render(K8S / "overlays" / overlay))
    assert result.returncode == 0, result.stdout + result.stderr
    # Every kind in an overlay is a core kind: an unknown one would only be a warning.
    assert "WARN" not in result.stdout, result.stdout
    assert "ERROR" not in result.stdout, result.stdout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_is_deployed_hardened_and_probed(overlay: str) -> None:
    docs = resources(K8S / "overlays" / overlay)
    deployments = app_deployments(docs)
    assert {doc["metadata"]["name"] for doc in deployments} == SERVICES
    for kind in ("Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
        names = {doc["metadata"]["name"] for doc in of_kind(docs, kind)}
        assert names >= SERVICES, kind
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]
        assert_hardened(pod, name)
        (container,) = pod["spec"]["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert f"services.{name}.main:create_app" in container["args"], name
        annotations = pod["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", name
        assert annotations["prometheus.io/path"] == "/metrics", name
    for hpa in of_kind(docs, "HorizontalPodAutoscaler"):
        assert hpa["apiVersion"] == "autoscaling/v2"
        (metric,) = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
        assert metric["resource"]["target"]["averageUtilization"] == 70


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_gateway_is_reachable_from_outside(overlay: str) -> None:
    docs = resources(K8S / "overlays" / overlay)
    ingresses = of_kind(docs, "Ingress")
    assert ingresses
    for ingress in ingresses:
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["name"] == "gateway"
    policies = of_kind(docs, "NetworkPolicy")
    default_deny = [
        policy
        for policy in policies
        if not policy["spec"].get("ingress")
        and policy["spec"]["podSelector"]
        == {"matchLabels": {"app.kubernetes.io/part-of": "socialcare"}}
    ]
    assert default_deny, "no default-deny ingress policy for the socialcare pods"
    for policy in policies:
        selects_only_gateway = policy["spec"]["podSelector"] == {
            "matchLabels": {"app.kubernetes.io/name": "gateway"}
        }
        for rule in policy["spec"].get("ingress", []):
            peers = rule.get("from")
            external = peers is None or any(
                "namespaceSelector" in peer or "ipBlock" in peer for peer in peers
            )
            assert selects_only_gateway or not external, policy["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_run_as_a_job_of_their_own(overlay: str) -> None:
    docs = resources(K8S / "overlays" / overlay)
    (job,) = of_kind(docs, "Job")
    pod = job["spec"]["template"]
    assert_hardened(pod, job["metadata"]["name"])
    (container,) = pod["spec"]["containers"]
    command = " ".join(container.get("command", []) + container.get("args", []))
    assert "-m shared.migrations upgrade --all" in command
    assert pod["spec"]["restartPolicy"] in {"Never", "OnFailure"}
    env = {item["name"] for item in container["env"]}
    assert {"SOCIALCARE_DATABASE_URL", "SOCIALCARE_INGEST_SECRETS_KEY"} <= env


def test_production_runs_several_replicas_spread_and_pinned() -> None:
    docs = resources(K8S / "overlays" / "production")
    for deployment in app_deployments(docs):
        name = deployment["metadata"]["name"]
        assert deployment["spec"]["replicas"] >= 2, name
        spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        assert {item["topologyKey"] for item in spread} >= {
            "topology.kubernetes.io/zone",
            "kubernetes.io/hostname",
        }, name
    for hpa in of_kind(docs, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] >= 2, hpa["metadata"]["name"]
    for pdb in of_kind(docs, "PodDisruptionBudget"):
        assert pdb["spec"]["minAvailable"] >= 1, pdb["metadata"]["name"]
        assert "maxUnavailable" not in pdb["spec"], pdb["metadata"]["name"]
    for doc in of_kind(docs, "Deployment") + of_kind(docs, "Job"):
        for container in doc["spec"]["template"]["spec"]["containers"]:
            image: str = container["image"]
            assert "@sha256:" in image or ":" in image.rsplit("/", 1)[-1], image
            assert not image.endswith(":latest"), image
    assert {doc["metadata"].get("namespace") for doc in docs} == {"socialcare"}


def secret_values(secret: Resource) -> dict[str, str]:
    values = {
        key: base64.b64decode(value).decode() for key, value in secret.get("data", {}).items()
    }
    values.update(secret.get("stringData", {}))
    return values


def test_production_carries_no_real_secret() -> None:
    docs = resources(K8S / "overlays" / "production")
    # The Secret is created out of band; rendering one would overwrite it on every apply.
    for secret in of_kind(docs, "Secret"):
        for key, value in secret_values(secret).items():
            assert PLACEHOLDER in value, f"{secret['metadata']['name']}.{key} looks real"
    example = yaml.safe_load((K8S / "base" / "secret.example.yaml").read_text())
    values = secret_values(example)
    assert set(values) == {
        "database-url",
        "internal-secret",
        "admin-key",
        "ingest-secrets-key",
        "webhooks-secrets-key",
    }
    for key, value in values.items():
        assert PLACEHOLDER in value, f"secret.example.yaml {key} looks real"
    referenced = {
        item["valueFrom"]["secretKeyRef"]["key"]
        for doc in of_kind(docs, "Deployment") + of_kind(docs, "Job")
        for container in doc["spec"]["template"]["spec"]["containers"]
        for item in container.get("env", [])
        if "secretKeyRef" in item.get("valueFrom", {})
    }
    assert referenced == set(values)


def test_strimzi_component_renders_kafka_and_topics(tmp_path: Path) -> None:
    # Render the components the way an ops overlay uses them: on top of production.
    relative = Path(os.path.relpath(K8S, tmp_path))
    (tmp_path / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        f"resources:\n  - {relative / 'overlays' / 'production'}\n"
        f"components:\n  - {relative / 'components' / 'strimzi'}\n"
        f"  - {relative / 'components' / 'monitoring'}\n"
    )
    manifests = render(tmp_path)
    docs = [doc for doc in yaml.safe_load_all(manifests) if doc]
    assert len(of_kind(docs, "Kafka")) == 1
    (pool,) = of_kind(docs, "KafkaNodePool")
    assert set(pool["spec"]["roles"]) == {"controller", "broker"}
    assert len(of_kind(docs, "ServiceMonitor")) == 1
    topics = {doc["spec"]["topicName"]: doc["spec"] for doc in of_kind(docs, "KafkaTopic")}
    assert set(topics) == set(all_topics())  # the manifests follow the code's topic list
    for name in PUBLIC_TOPICS:
        for topic, partitions in ((f"socialcare.{name}", 6), (f"socialcare.{name}.dlq", 3)):
            assert topics[topic]["partitions"] == partitions, topic
            assert topics[topic]["replicas"] == 3, topic
            assert topics[topic]["config"]["min.insync.replicas"] == "2", topic
    # Applied with the migration Job, so the topics exist before any service creates its own.
    for doc in docs:
        if doc["apiVersion"].startswith("kafka.strimzi.io/"):
            assert doc["metadata"]["labels"]["socialcare.io/stage"] == "prepare", doc["kind"]
    # Core kinds still validate strictly; only the CRD kinds are unknown to the schemas.
    result = validate(manifests)
    assert result.returncode == 0, result.stdout + result.stderr
    warned = [line for line in result.stdout.splitlines() if line.startswith("WARN")]
    assert all("kafka.strimzi.io" in line or "monitoring.coreos.com" in line for line in warned)
