"""The chart's accelerator types and the device-plugin resource each requests, as the
chart's `ms.acceleratorResource` defines them (tests/test_layout.py renders every type to
keep the two equal)."""

from __future__ import annotations

RESOURCES: dict[str, str] = {
    "nvidia": "nvidia.com/gpu",
    "amd": "amd.com/gpu",
    "intel-gaudi": "habana.ai/gaudi",
    "intel-xe": "gpu.intel.com/xe",
    "google-tpu": "google.com/tpu",
    "cpu": "",
}

# Resources that count as accelerators when reading rendered pods.
ACCELERATOR_RESOURCES: tuple[str, ...] = tuple(name for name in RESOURCES.values() if name)
