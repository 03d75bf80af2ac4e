"""The built-in preset closest to a converted release: the same accelerator model (and
prefill/decode), or the simulator preset for llm-d-inference-sim images."""

from __future__ import annotations

from typing import Any

from .. import presets

# (preset, accelerator type, label value fragments, prefill/decode)
RULES = (
    ("pd-h100", "nvidia", ("H100",), True),
    ("pd-a100", "nvidia", ("A100",), True),
    ("nvidia-h100", "nvidia", ("H100",), False),
    ("nvidia-a100", "nvidia", ("A100",), False),
    ("nvidia-l4", "nvidia", ("L4",), False),
    ("amd-mi300x", "amd", ("MI300",), False),
    ("intel-gaudi3", "intel-gaudi", ("",), False),
    ("tpu-v6e", "google-tpu", ("v6e",), False),
)


def _roles(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod settings of each enabled role, shared block merged under the role's."""
    shared = values.get("pod", {})
    roles = []
    for name in ("decode", "prefill"):
        role = values.get(name) or {}
        if name == "prefill" and not role.get("enabled"):
            continue
        if name == "decode" and role.get("enabled") is False:
            continue
        accelerator = {**(shared.get("accelerator") or {}), **(role.get("accelerator") or {})}
        node_selector = {**(shared.get("nodeSelector") or {}), **(role.get("nodeSelector") or {})}
        engine = {**(values.get("engine") or {}), **(role.get("engine") or {})}
        roles.append({"accelerator": accelerator, "nodeSelector": node_selector,
                      "image": (engine.get("image") or {}).get("repository", "")})
    return roles


def closest_preset(values: dict[str, Any]) -> tuple[str | None, str]:
    """(preset name or None, why)."""
    roles = _roles(values)
    if not roles:
        return None, "no role is enabled"
    if all("llm-d-inference-sim" in role["image"] for role in roles):
        return _known("cpu-sim", "the llm-d inference simulator image")
    pd = len(roles) == 2
    types = {role["accelerator"].get("type") or role["accelerator"].get("resourceName")
             or "nvidia" for role in roles}
    found = [str(v) for role in roles for v in (*(role["accelerator"].get("labelValues") or []),
                                                  *role["nodeSelector"].values())]
    labels = " ".join(dict.fromkeys(found))
    for preset, kind, fragments, wants_pd in RULES:
        if types == {kind} and pd == wants_pd and any(f in labels for f in fragments):
            detail = f"accelerator {kind}" + (f", nodes labelled {labels.strip()}"
                                              if labels.strip() else "")
            return _known(preset, detail + (", prefill/decode" if pd else ""))
    return None, ("no built-in preset targets accelerator " + ", ".join(sorted(types))
                  + (f" with nodes {labels.strip()}" if labels.strip() else
                     " on unlabelled nodes (set acceleratorTypes to match one)"))


def _known(name: str, why: str) -> tuple[str | None, str]:
    if name in presets.available():
        return name, why
    return None, f"{why}, but preset {name} is not installed"
