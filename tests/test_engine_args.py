"""Engine arguments: a map rendered to flags, extraArgs appended last, env as a map,
template variables inside strings, and the three command modes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from support import engine_container, find, one, render_values, run_helm_template


def render(tmp_path: Path, values: dict[str, Any]) -> list[dict[str, Any]]:
    return render_values(tmp_path, {"model": {"uri": "hf://org/model"}, **values})


def decode_container(tmp_path: Path, values: dict[str, Any]) -> dict[str, Any]:
    return engine_container(one(render(tmp_path, values), "Deployment", "test-decode"))


def test_arg_map_to_flags(tmp_path: Path) -> None:
    args = decode_container(tmp_path, {"engine": {"args": {
        "enforce-eager": True,
        "disable-log-requests": False,
        "swap-space": None,
        "max-model-len": 1000000,
        "gpu-memory-utilization": 0.92,
        "kv-cache-dtype": "fp8",
        "compilation-config": {"cudagraph_mode": "FULL"},
    }, "extraArgs": ["--last", "{{ .ModelName }}"]}})["args"]
    managed = ["org/model", "--port=8000", "--served-model-name=org/model"]
    assert args == [
        *managed,
        '--compilation-config={"cudagraph_mode":"FULL"}',
        "--enforce-eager",
        "--gpu-memory-utilization=0.92",
        "--kv-cache-dtype=fp8",
        "--max-model-len=1000000",
        "--last",
        "org/model",
    ]


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


def test_custom_mode_renders_only_user_command_and_args(tmp_path: Path) -> None:
    container = decode_container(tmp_path, {"engine": {
        "mode": "custom",
        "command": ["python", "-m", "my.server", "{{ .ModelPath }}"],
        "args": {"port": 9000},
    }})
    assert container["command"] == ["python", "-m", "my.server", "org/model"]
    assert container["args"] == ["--port=9000"]


def test_custom_mode_without_command_fails(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    path.write_text(yaml.safe_dump({"model": {"uri": "hf://o/m"}, "engine": {"mode": "custom"}}))
    result = run_helm_template((path,))
    assert result.returncode != 0
    assert "engine.command is empty" in result.stderr


def test_role_engine_overrides_shared_engine(tmp_path: Path) -> None:
    objects = render(tmp_path, {
        "engine": {"args": {"max-model-len": 8192, "enforce-eager": True}},
        "prefill": {"enabled": True, "engine": {"args": {"max-model-len": 4096},
                                                "image": {"tag": "v9"}}},
    })
    prefill = engine_container(one(objects, "Deployment", "test-prefill"))
    decode = engine_container(one(objects, "Deployment", "test-decode"))
    assert "--max-model-len=4096" in prefill["args"]
    assert "--enforce-eager" in prefill["args"]
    assert prefill["image"].endswith(":v9")
    assert "--max-model-len=8192" in decode["args"]
    assert not decode["image"].endswith(":v9")


def test_image_digest_wins_over_tag(tmp_path: Path) -> None:
    digest = "sha256:" + "b" * 64
    container = decode_container(tmp_path, {"engine": {"image": {"digest": digest}}})
    assert container["image"] == f"ghcr.io/llm-d/llm-d-cuda@{digest}"


def test_extra_objects_rendered_with_template_variables(tmp_path: Path) -> None:
    objects = render(tmp_path, {"extraObjects": {
        "cm": {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "{{ .ReleaseName }}-extra"},
               "data": {"model": "{{ .ModelName }}"}},
        "dropped": None,
    }})
    configmap = one(objects, "ConfigMap", "test-extra")
    assert configmap["data"] == {"model": "org/model"}
    names = [c["metadata"]["name"] for c in find(objects, "ConfigMap")]
    assert "dropped" not in " ".join(names)
    assert names.count("test-extra") == 1


def test_extra_object_that_is_not_an_object_fails_clearly(tmp_path: Path) -> None:
    for entry, message in [("just text", "does not render to a YAML object"),
                           ({"kind": "ConfigMap"}, "needs apiVersion, kind and metadata.name")]:
        path = tmp_path / "v.yaml"
        path.write_text(yaml.safe_dump({"model": {"uri": "hf://o/m"},
                                        "extraObjects": {"bad": entry}}))
        result = run_helm_template((path,))
        assert result.returncode != 0
        assert f"extraObjects.bad {message}" in result.stderr
