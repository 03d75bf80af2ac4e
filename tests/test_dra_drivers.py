"""DRA claims of the samples against what the real DRA drivers publish.

modelservice_tool/contracts/dra/drivers.yaml records, from each driver's source at a cited
tag, its DeviceClass, driver name and device attributes (type, example, and the values the
source enumerates). A CEL selector naming an attribute the driver never publishes, or
comparing an enumerated attribute with a value it never has, matches no device: the pods
would stay Pending with nothing in the chart to say why. The live scheduling test
(tests/test_e2e_cluster.py) runs the same claims through kube-scheduler's DRA allocator
against ResourceSlices built from the same data (tests/live.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from modelservice_tool import upstream
from support import find, render, sample_files, samples

DRIVERS = upstream.load("dra/drivers.yaml")["deviceClasses"]
# `device.attributes["DOMAIN"].NAME`, optionally compared with a quoted string.
REFERENCE = re.compile(r'device\.attributes\["(?P<domain>[^"]+)"\]\.(?P<name>\w+)'
                       r"(?:\s*==\s*(?P<quote>['\"])(?P<value>.*?)(?P=quote))?")
DRA_SAMPLES = [s["name"] for s in samples() if "dra" in s["name"]]


def published(device_class: str) -> dict[str, dict[str, Any]]:
    """The driver's attributes by qualified name (unqualified ones are in its domain)."""
    entry = DRIVERS[device_class]
    return {(name if "/" in name else f"{entry['driver']}/{name}"): spec
            for name, spec in (entry.get("attributes") or {}).items()}


def claim_problems(template: dict[str, Any]) -> list[str]:
    """Every request whose class, selectors or constraints the real drivers cannot meet."""
    problems: list[str] = []
    spec = template["spec"]["spec"]["devices"]
    classes: dict[str, str] = {}
    for request in spec["requests"]:
        exactly = request["exactly"]
        device_class = exactly["deviceClassName"]
        if device_class not in DRIVERS:
            problems.append(f"{request['name']}: DeviceClass {device_class} is no known driver's")
            continue
        classes[request["name"]] = device_class
        attributes = published(device_class)
        for selector in exactly.get("selectors", []):
            for match in REFERENCE.finditer(selector["cel"]["expression"]):
                name = f"{match['domain']}/{match['name']}"
                if name not in attributes:
                    problems.append(f"{request['name']}: {device_class} publishes no {name}")
                elif match["value"] is not None and "values" in attributes[name] \
                        and match["value"] not in attributes[name]["values"]:
                    problems.append(f"{request['name']}: {name} is never {match['value']!r} "
                                    f"(it is one of {attributes[name]['values']})")
    for constraint in spec.get("constraints", []):
        for name in constraint.get("requests") or list(classes):
            if name in classes and constraint["matchAttribute"] not in published(classes[name]):
                problems.append(f"constraint on {name}: {classes[name]} publishes no "
                                f"{constraint['matchAttribute']}")
    return problems


@pytest.mark.parametrize("name", DRA_SAMPLES)
def test_sample_claims_select_what_the_drivers_publish(name: str) -> None:
    sample = next(s for s in samples() if s["name"] == name)
    templates = find(render(*sample_files(sample)), "ResourceClaimTemplate")
    assert templates, f"{name} renders no ResourceClaimTemplate"
    for template in templates:
        assert claim_problems(template) == [], template["metadata"]["name"]


def test_a_selector_for_a_value_the_driver_never_publishes_is_caught() -> None:
    """The check itself: Intel's driver publishes family `Data Center Max`, never `Max`
    (the value this chart's XPU preset once selected), and no `generation` attribute."""
    template = {"spec": {"spec": {"devices": {"requests": [{"name": "accelerator", "exactly": {
        "deviceClassName": "gpu.intel.com", "selectors": [
            {"cel": {"expression": "device.attributes[\"gpu.intel.com\"].family == 'Max'"}},
            {"cel": {"expression": 'device.attributes["gpu.intel.com"].generation > 2'}}]}}],
        "constraints": [{"matchAttribute": "resource.kubernetes.io/pcieRoot"}]}}}}
    problems = claim_problems(template)
    assert len(problems) == 3, problems
    assert "never 'Max'" in problems[0] and "generation" in problems[1]
    assert "pcieRoot" in problems[2]
