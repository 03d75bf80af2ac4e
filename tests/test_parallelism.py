"""Accelerators per pod follow parallelism (tensor x pipeline x dataLocal) unless set
explicitly, and the vLLM flags match."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from support import engine_container, one, run_helm_template

BASE = {"model": {"uri": "hf://org/model"}}


def render_decode(values: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "v.yaml"
    path.write_text(yaml.safe_dump({**BASE, **values}))
    result = run_helm_template((path,))
    assert result.returncode == 0, result.stderr
    objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return engine_container(one(objects, "Deployment", "test-decode"))


def flag_values(args: list[str]) -> dict[str, str]:
    return dict(arg[2:].split("=", 1) for arg in args if arg.startswith("--") and "=" in arg)


@pytest.mark.parametrize(
    ("parallelism", "gpus", "flags"),
    [
        ({}, 1, {}),
        ({"tensor": 4}, 4, {"tensor-parallel-size": "4"}),
        ({"tensor": 2, "pipeline": 2}, 4,
         {"tensor-parallel-size": "2", "pipeline-parallel-size": "2"}),
        ({"tensor": 1, "data": 8, "dataLocal": 8}, 8,
         {"data-parallel-size": "8", "data-parallel-size-local": "8"}),
        ({"tensor": 2, "data": 4, "dataLocal": 4, "expert": True}, 8,
         {"tensor-parallel-size": "2", "data-parallel-size": "4"}),
    ],
)
def test_gpu_count_is_parallelism_product(
    tmp_path: Path, parallelism: dict[str, Any], gpus: int, flags: dict[str, str]
) -> None:
    container = render_decode({"decode": {"parallelism": parallelism}}, tmp_path)
    assert container["resources"]["limits"]["nvidia.com/gpu"] == gpus
    assert container["resources"]["requests"]["nvidia.com/gpu"] == gpus
    rendered = flag_values(container["args"])
    managed = {k: v for k, v in rendered.items() if "parallel" in k}
    assert managed == {**managed, **flags}
    assert set(managed) == set(flags) | (
        {"data-parallel-size-local"} if "data-parallel-size" in flags else set()
    )
    assert ("--enable-expert-parallel" in container["args"]) == parallelism.get("expert", False)


@pytest.mark.parametrize(
    ("accelerator", "resource"),
    [
        ("nvidia", "nvidia.com/gpu"),
        ("amd", "amd.com/gpu"),
        ("intel-gaudi", "habana.ai/gaudi"),
        ("intel-xe", "gpu.intel.com/xe"),
        ("google-tpu", "google.com/tpu"),
    ],
)
def test_accelerator_type_sets_device_plugin_resource(
    tmp_path: Path, accelerator: str, resource: str
) -> None:
    container = render_decode(
        {"pod": {"accelerator": {"type": accelerator}}, "decode": {"parallelism": {"tensor": 2}}},
        tmp_path,
    )
    assert container["resources"]["limits"] == {resource: 2}


def test_cpu_accelerator_requests_no_device(tmp_path: Path) -> None:
    container = render_decode({"pod": {"accelerator": {"type": "cpu"}}}, tmp_path)
    assert "resources" not in container


def test_explicit_count_wins_over_parallelism(tmp_path: Path) -> None:
    container = render_decode(
        {"decode": {"parallelism": {"tensor": 2}, "accelerator": {"count": 8}}}, tmp_path
    )
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 8
    assert "--tensor-parallel-size=2" in container["args"]


def test_explicit_resource_is_left_alone(tmp_path: Path) -> None:
    container = render_decode(
        {"decode": {"parallelism": {"tensor": 4},
                    "resources": {"limits": {"nvidia.com/gpu": 2, "memory": "64Gi"}}}},
        tmp_path,
    )
    assert container["resources"]["limits"] == {"nvidia.com/gpu": 2, "memory": "64Gi"}
    assert "requests" not in container["resources"]


def test_role_accelerator_override_for_heterogeneous_pd(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    path.write_text(yaml.safe_dump({
        **BASE,
        "prefill": {"enabled": True, "accelerator": {"type": "amd"}},
    }))
    result = run_helm_template((path,))
    objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    prefill = engine_container(one(objects, "Deployment", "test-prefill"))
    decode = engine_container(one(objects, "Deployment", "test-decode"))
    assert prefill["resources"]["limits"] == {"amd.com/gpu": 1}
    assert decode["resources"]["limits"] == {"nvidia.com/gpu": 1}


@pytest.mark.parametrize(
    ("parallelism", "message"),
    [
        ({"data": 2, "dataLocal": 4}, "dataLocal (4) is larger than data (2)"),
        ({"data": 6, "dataLocal": 4}, "data (6) must be a multiple of dataLocal (4)"),
        ({"data": 8, "dataLocal": 4}, "needs a multi-node (LeaderWorkerSet) role"),
    ],
)
def test_impossible_parallelism_fails(
    tmp_path: Path, parallelism: dict[str, int], message: str
) -> None:
    path = tmp_path / "v.yaml"
    path.write_text(yaml.safe_dump({**BASE, "decode": {"parallelism": parallelism}}))
    result = run_helm_template((path,))
    assert result.returncode != 0
    assert "decode.parallelism: " in result.stderr
    assert message in result.stderr


def test_managed_flag_in_args_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    path.write_text(yaml.safe_dump({**BASE, "engine": {"args": {"tensor-parallel-size": 4}}}))
    result = run_helm_template((path,))
    assert result.returncode != 0
    assert "set decode.parallelism.tensor instead" in result.stderr
