"""Engine environment and template variables inside args and env. (The flag rendering, the
command modes, role overrides and the image reference are asserted by the helm-unittest
suite charts/modelservice/tests/engine_test.yaml.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support import engine_container, one, render_values


def render(tmp_path: Path, values: dict[str, Any]) -> list[dict[str, Any]]:
    return render_values(tmp_path, {"model": {"uri": "hf://org/model"}, **values})


def decode_container(tmp_path: Path, values: dict[str, Any]) -> dict[str, Any]:
    return engine_container(one(render(tmp_path, values), "Deployment", "test-decode"))


def test_template_variables_in_args_and_env(tmp_path: Path) -> None:
    container = decode_container(tmp_path, {
        "engine": {
            "args": {"download-dir": "{{ .MountedModelPath }}/dl"},
            "env": {
                "SERVED": "{{ .ModelName }}@{{ .Namespace }}",
                "SVC": {"value": "{{ .DecodeServiceName }}:{{ .Ports.engine }}"},
            },
        },
    })
    assert "--download-dir=/model-cache/dl" in container["args"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["SERVED"] == "org/model@ns"
    assert env["SVC"] == "test-decode:8000"


def test_env_value_from_and_numbers(tmp_path: Path) -> None:
    container = decode_container(tmp_path, {"engine": {"env": {
        "POD_IP": {"valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        "THREADS": 8,
    }}})
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert env["THREADS"]["value"] == "8"


def test_user_env_overrides_model_env(tmp_path: Path) -> None:
    container = decode_container(tmp_path, {"engine": {"env": {"HF_HOME": "/elsewhere"}}})
    homes = [e for e in container["env"] if e["name"] == "HF_HOME"]
    assert homes == [{"name": "HF_HOME", "value": "/elsewhere"}]
