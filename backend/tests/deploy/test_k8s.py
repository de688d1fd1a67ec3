"""deploy/k8s: every manifest validates strictly against the Kubernetes API schemas."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.deploy.conftest import K8S_DIR

K8S_VERSION = "1.37.0"
MANIFESTS = sorted(K8S_DIR.glob("*.yaml"))


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def validate(doc: dict) -> None:
    # strict: unknown fields (a misspelt probe, say) fail instead of being dropped by the API.
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_validates(path: Path):
    for doc in documents(path):
        validate(doc)


def test_example_has_app_vllm_and_chroma_with_services_and_storage():
    kinds = {(d["kind"], d["metadata"]["name"]) for p in MANIFESTS for d in documents(p)}
    for name in ("playground", "vllm", "chroma"):
        assert ("Deployment", name) in kinds and ("Service", name) in kinds
    assert {
        ("PersistentVolumeClaim", "playground-models"),
        ("PersistentVolumeClaim", "playground-data"),
    } <= kinds


def test_services_select_their_deployments_and_claims_exist():
    docs = [d for p in MANIFESTS for d in documents(p)]
    claims = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    for svc in (d for d in docs if d["kind"] == "Service"):
        target = deployments[svc["metadata"]["name"]]
        labels = target["spec"]["template"]["metadata"]["labels"]
        assert svc["spec"]["selector"].items() <= labels.items()
    for deployment in deployments.values():
        for volume in deployment["spec"]["template"]["spec"].get("volumes", []):
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims


def test_app_reaches_vllm_and_chroma_through_their_services():
    [app] = [d for d in documents(K8S_DIR / "app.yaml") if d["kind"] == "Deployment"]
    [container] = app["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert "http://vllm:8000/v1" in env["MP_REMOTE_ENDPOINTS"]
    assert env["MP_RAG_CHROMA_URL"] == "http://chroma:8000"
    [vllm] = [d for d in documents(K8S_DIR / "vllm.yaml") if d["kind"] == "Deployment"]
    container = vllm["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert any(a.startswith("--tensor-parallel-size=") for a in container["args"])


@pytest.mark.parametrize(
    "path_and_change",
    [
        ("spec.template.spec.containers.0.readinesProbe", {}),
        ("spec.template.spec.containers.0.ports.0.containerPort", "eight-thousand"),
        ("spec.replicas", "one"),
    ],
    ids=["misspelt-field", "bad-port", "bad-replicas"],
)
def test_validation_rejects_broken_manifests(path_and_change):
    path, value = path_and_change
    [doc] = [d for d in documents(K8S_DIR / "chroma.yaml") if d["kind"] == "Deployment"]
    *parents, leaf = path.split(".")
    node = doc
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    node[leaf] = value
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(doc)
