"""Layering with plain helm: maps merge across -f files, `null` deletes a preset entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from support import engine_container, one, run_helm_template

PRESET = {
    "engine": {
        "args": {"gpu-memory-utilization": 0.9, "enforce-eager": True, "max-model-len": 8192},
        "env": {"VLLM_LOGGING_LEVEL": "INFO", "UCX_TLS": "all", "NCCL_DEBUG": "WARN"},
    },
    "pod": {
        "tolerations": {"gpu": {"key": "nvidia.com/gpu", "operator": "Exists",
                                "effect": "NoSchedule"}},
        "nodeSelector": {"pool": "gpu"},
        "imagePullSecrets": {"registry": True},
    },
}


def layered(tmp_path: Path, model: dict[str, Any]) -> dict[str, Any]:
    preset = tmp_path / "preset.yaml"
    preset.write_text(yaml.safe_dump(PRESET))
    values = tmp_path / "model.yaml"
    values.write_text(yaml.safe_dump({"model": {"uri": "hf://org/m"}, **model}))
    result = run_helm_template((preset, values))
    assert result.returncode == 0, result.stderr
    objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return one(objects, "Deployment", "test-decode")["spec"]["template"]["spec"]


def env_names(pod: dict[str, Any]) -> list[str]:
    return [e["name"] for e in engine_container({"spec": {"template": {"spec": pod}}})["env"]]


def test_model_env_var_keeps_all_preset_env_vars(tmp_path: Path) -> None:
    pod = layered(tmp_path, {"engine": {"env": {"MY_VAR": "1"}}})
    assert {"VLLM_LOGGING_LEVEL", "UCX_TLS", "NCCL_DEBUG", "MY_VAR"} <= set(env_names(pod))


def test_null_deletes_preset_env_var(tmp_path: Path) -> None:
    pod = layered(tmp_path, {"engine": {"env": {"UCX_TLS": None}}})
    names = env_names(pod)
    assert "UCX_TLS" not in names
    assert {"VLLM_LOGGING_LEVEL", "NCCL_DEBUG"} <= set(names)


def test_overriding_one_engine_arg_keeps_the_others(tmp_path: Path) -> None:
    pod = layered(tmp_path, {"engine": {"args": {"max-model-len": 32768}}})
    args = pod["containers"][0]["args"]
    assert "--max-model-len=32768" in args
    assert "--max-model-len=8192" not in args
    assert "--gpu-memory-utilization=0.9" in args
    assert "--enforce-eager" in args


def test_null_and_false_remove_an_engine_flag(tmp_path: Path) -> None:
    pod = layered(tmp_path, {"engine": {"args": {"enforce-eager": None}}})
    assert "--enforce-eager" not in pod["containers"][0]["args"]
    pod = layered(tmp_path, {"engine": {"args": {"enforce-eager": False}}})
    assert "--enforce-eager" not in pod["containers"][0]["args"]


def test_role_level_keys_merge_over_shared_pod_settings(tmp_path: Path) -> None:
    pod = layered(tmp_path, {"decode": {
        "tolerations": {"spot": {"key": "spot", "operator": "Exists"}},
        "nodeSelector": {"zone": "a"},
    }})
    assert pod["nodeSelector"] == {"pool": "gpu", "zone": "a"}
    assert {t["key"] for t in pod["tolerations"]} == {"nvidia.com/gpu", "spot"}


def test_role_null_removes_shared_entry_for_that_role_only(tmp_path: Path) -> None:
    preset = tmp_path / "preset.yaml"
    preset.write_text(yaml.safe_dump(PRESET))
    values = tmp_path / "model.yaml"
    values.write_text(yaml.safe_dump({
        "model": {"uri": "hf://org/m"},
        "prefill": {"enabled": True, "tolerations": {"gpu": None}},
    }))
    result = run_helm_template((preset, values))
    objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    prefill = one(objects, "Deployment", "test-prefill")["spec"]["template"]["spec"]
    decode = one(objects, "Deployment", "test-decode")["spec"]["template"]["spec"]
    assert "tolerations" not in prefill
    assert len(decode["tolerations"]) == 1


def test_false_in_role_overrides_true_in_pod(tmp_path: Path) -> None:
    pod = layered(tmp_path, {"decode": {"shm": {"enabled": False},
                                        "imagePullSecrets": {"registry": False}}})
    assert all(v["name"] != "shm" for v in pod["volumes"])
    assert "imagePullSecrets" not in pod


def test_null_deletes_preset_pull_secret(tmp_path: Path) -> None:
    pod = layered(tmp_path, {"pod": {"imagePullSecrets": {"registry": None, "other": True}}})
    assert pod["imagePullSecrets"] == [{"name": "other"}]


def test_null_fields_inside_entries_are_left_out(tmp_path: Path) -> None:
    pod = layered(tmp_path, {
        "engine": {"env": {"X": {"value": "z", "valueFrom": None}}},
        "pod": {"tolerations": {"gpu": {"effect": None}},
                "volumes": {"scratch": {"emptyDir": {"sizeLimit": None, "medium": "Memory"}}}},
    })
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["X"] == {"name": "X", "value": "z"}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists"}]
    assert {"name": "scratch", "emptyDir": {"medium": "Memory"}} in pod["volumes"]
