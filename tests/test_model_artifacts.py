"""For each model URI scheme the engine's model argument, the volume and the mount agree
(asserted on rendered output)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from support import engine_container, one, run_helm_template

Obj = dict[str, Any]


def decode_pod(tmp_path: Path, model: dict[str, Any], *sets: str) -> tuple[Obj, Obj]:
    """(engine container, pod spec) of the decode Deployment for a `model` block."""
    import yaml

    values = tmp_path / "model.yaml"
    values.write_text(yaml.safe_dump({"model": model}))
    result = run_helm_template((values,), sets)
    assert result.returncode == 0, result.stderr
    objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    deployment = one(objects, "Deployment", "test-decode")
    return engine_container(deployment), deployment["spec"]["template"]["spec"]


def model_volume(pod: Obj) -> Obj:
    return next(v for v in pod["volumes"] if v["name"] == "model-storage")


def model_mount(container: Obj) -> Obj:
    return next(m for m in container["volumeMounts"] if m["name"] == "model-storage")


def env(container: Obj) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_hf_downloads_into_sized_emptydir(tmp_path: Path) -> None:
    container, pod = decode_pod(tmp_path, {"uri": "hf://Qwen/Qwen3-8B", "size": "40Gi"})
    assert container["args"][0] == "Qwen/Qwen3-8B"
    assert model_volume(pod)["emptyDir"] == {"sizeLimit": "40Gi"}
    mount = model_mount(container)
    assert mount["mountPath"] == "/model-cache"
    assert not mount.get("readOnly", False)
    assert env(container)["HF_HOME"] == mount["mountPath"]
    assert "--served-model-name=Qwen/Qwen3-8B" in container["args"]


def test_pvc_mounts_claim_read_only_and_points_at_path(tmp_path: Path) -> None:
    container, pod = decode_pod(tmp_path, {"uri": "pvc://models/llama/3.3-70b"})
    volume = model_volume(pod)
    assert volume["persistentVolumeClaim"] == {"claimName": "models", "readOnly": True}
    mount = model_mount(container)
    assert mount["readOnly"] is True
    assert container["args"][0] == f"{mount['mountPath']}/llama/3.3-70b"
    assert "--served-model-name=3.3-70b" in container["args"]
    assert "HF_HOME" not in env(container)


def test_pvc_read_write_when_asked(tmp_path: Path) -> None:
    container, pod = decode_pod(tmp_path, {"uri": "pvc://models/m", "readOnly": False})
    assert model_volume(pod)["persistentVolumeClaim"]["readOnly"] is False
    assert model_mount(container)["readOnly"] is False


def test_pvc_hf_uses_hub_cache_on_claim(tmp_path: Path) -> None:
    container, pod = decode_pod(
        tmp_path, {"uri": "pvc+hf://hf-cache/hub/meta-llama/Llama-3.3-70B-Instruct"}
    )
    assert model_volume(pod)["persistentVolumeClaim"]["claimName"] == "hf-cache"
    mount = model_mount(container)
    assert container["args"][0] == "meta-llama/Llama-3.3-70B-Instruct"
    assert env(container)["HF_HUB_CACHE"] == f"{mount['mountPath']}/hub"
    assert env(container)["HF_HUB_OFFLINE"] == "1"


def test_pvc_hf_without_cache_dir_uses_claim_root(tmp_path: Path) -> None:
    container, _ = decode_pod(tmp_path, {"uri": "pvc+hf://hf-cache/org/model"})
    assert env(container)["HF_HUB_CACHE"] == model_mount(container)["mountPath"]


def test_oci_image_volume_and_path_inside_image(tmp_path: Path) -> None:
    container, pod = decode_pod(
        tmp_path,
        {"uri": "oci://quay.io/org/modelcar:granite-3.3", "imagePath": "models",
         "mountPath": "/mnt/model"},
    )
    volume = model_volume(pod)
    assert volume["image"] == {"reference": "quay.io/org/modelcar:granite-3.3",
                               "pullPolicy": "IfNotPresent"}
    mount = model_mount(container)
    assert mount == {"name": "model-storage", "mountPath": "/mnt/model", "readOnly": True}
    assert container["args"][0] == "/mnt/model/models"
    assert "--served-model-name=modelcar" in container["args"]


def test_image_default_mode_passes_model_as_flag(tmp_path: Path) -> None:
    container, _ = decode_pod(
        tmp_path, {"uri": "oci://registry:5000/m@sha256:" + "a" * 64}, "engine.mode=imageDefault"
    )
    assert "command" not in container
    assert container["args"][0] == "--model=/model-cache"
    assert "--served-model-name=m" in container["args"]


def test_hf_token_only_from_secret(tmp_path: Path) -> None:
    container, _ = decode_pod(tmp_path, {"uri": "hf://org/m", "authSecretName": "hf"})
    token = next(e for e in container["env"] if e["name"] == "HF_TOKEN")
    assert token == {"name": "HF_TOKEN",
                     "valueFrom": {"secretKeyRef": {"name": "hf", "key": "HF_TOKEN"}}}


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("", "model.uri is required"),
        ("hf://a/b/c", "hf:// URI names one repository"),
        ("pvc+hf://claim/model", "pvc+hf://<claim>/<hub cache dir>/<org>/<model>"),
    ],
)
def test_bad_uri_fails_with_clear_message(tmp_path: Path, uri: str, message: str) -> None:
    result = run_helm_template((), (f"model.uri={uri}",))
    assert result.returncode != 0
    assert message in result.stderr
