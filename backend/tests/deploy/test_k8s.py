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


WORKLOADS = ("Deployment", "StatefulSet")


def all_documents() -> list[dict]:
    return [d for p in MANIFESTS for d in documents(p)]


def workload(name: str) -> dict:
    [doc] = [d for d in all_documents() if d["kind"] in WORKLOADS and d["metadata"]["name"] == name]
    return doc


def test_example_has_api_replicas_worker_and_stateful_services():
    kinds = {(d["kind"], d["metadata"]["name"]) for d in all_documents()}
    for name in ("playground", "playground-worker", "vllm"):
        assert ("Deployment", name) in kinds
    for name in ("redis", "postgres", "chroma"):
        assert ("StatefulSet", name) in kinds and ("Service", name) in kinds
    for name in ("playground", "vllm"):
        assert ("Service", name) in kinds
    assert ("Secret", "playground-db") in kinds
    claims = {
        d["metadata"]["name"]: d for d in all_documents() if d["kind"] == "PersistentVolumeClaim"
    }
    # Every replica and the worker read the same models and files.
    for name in ("playground-models", "playground-shared"):
        assert claims[name]["spec"]["accessModes"] == ["ReadWriteMany"]


def test_api_replicas_and_worker_run_the_right_commands_on_shared_state():
    api, worker = workload("playground"), workload("playground-worker")
    assert api["spec"]["replicas"] == 2
    assert api["spec"]["strategy"]["type"] == "RollingUpdate"
    [api_c] = api["spec"]["template"]["spec"]["containers"]
    [worker_c] = worker["spec"]["template"]["spec"]["containers"]
    assert api_c["args"] == ["playground", "serve", "--no-worker"]
    assert worker_c["args"] == ["playground", "worker"]
    assert worker_c["livenessProbe"]["exec"]["command"] == ["playground", "worker", "--check"]
    for container in (api_c, worker_c):
        env = {e["name"]: e for e in container["env"]}
        assert env["MP_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": "playground-db",
            "key": "url",
        }
        assert env["MP_REDIS_URL"]["value"] == "redis://redis:6379/0"
        assert env["MP_RAG_CHROMA_URL"]["value"] == "http://chroma:8000"
        assert env["MP_SHARED_DIR"]["value"] == "/shared"
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert {"/models", "/shared"} <= mounts


def test_services_select_their_workloads_and_claims_exist():
    docs = all_documents()
    claims = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    workloads = {d["metadata"]["name"]: d for d in docs if d["kind"] in WORKLOADS}
    for svc in (d for d in docs if d["kind"] == "Service"):
        target = workloads[svc["metadata"]["name"]]
        labels = target["spec"]["template"]["metadata"]["labels"]
        assert svc["spec"]["selector"].items() <= labels.items()
        ports = {
            p.get("name")
            for c in target["spec"]["template"]["spec"]["containers"]
            for p in c.get("ports", [])
        }
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in ports
    for name, doc in workloads.items():
        if doc["kind"] == "StatefulSet":
            assert doc["spec"]["serviceName"] in workloads, name
            templates = {t["metadata"]["name"] for t in doc["spec"].get("volumeClaimTemplates", [])}
        else:
            templates = set()
        spec = doc["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for volume in volumes.values():
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims
        for container in spec["containers"]:
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in volumes or mount["name"] in templates, (name, mount)


def test_secret_keys_the_workloads_read_exist():
    docs = all_documents()
    secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    for doc in (d for d in docs if d["kind"] in WORKLOADS):
        for container in doc["spec"]["template"]["spec"]["containers"]:
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    assert ref["key"] in secrets[ref["name"]]["stringData"], (
                        doc["metadata"]["name"],
                        ref,
                    )


def test_app_reaches_vllm_and_chroma_through_their_services():
    [container] = workload("playground")["spec"]["template"]["spec"]["containers"]
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
    doc = workload("chroma")
    *parents, leaf = path.split(".")
    node = doc
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    node[leaf] = value
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(doc)
