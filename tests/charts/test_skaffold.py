"""skaffold.yaml parses and points only at what exists: the Dockerfile, the chart, the chart's Services."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.charts.conftest import by_kind, objects

ROOT = Path(__file__).resolve().parents[2]
SKAFFOLD = yaml.safe_load((ROOT / "skaffold.yaml").read_text())


def releases() -> list[tuple[str, dict[str, Any]]]:
    found = [("default", r) for r in SKAFFOLD["deploy"]["helm"]["releases"]]
    for profile in SKAFFOLD.get("profiles", []):
        found += [(profile["name"], r) for r in profile.get("deploy", {}).get("helm", {}).get("releases", [])]
    return found


def test_config_parses_with_the_schema_version_and_a_dev_profile() -> None:
    assert SKAFFOLD["apiVersion"].startswith("skaffold/v4")
    assert SKAFFOLD["kind"] == "Config"
    assert "dev" in {p["name"] for p in SKAFFOLD["profiles"]}


def test_every_artifact_has_its_context_dockerfile_and_target() -> None:
    artifacts = SKAFFOLD["build"]["artifacts"]
    assert artifacts
    for artifact in artifacts:
        context = ROOT / artifact.get("context", ".")
        dockerfile = context / artifact["docker"]["dockerfile"]
        assert dockerfile.is_file(), dockerfile
        text = dockerfile.read_text()
        assert text.count("FROM ") >= 2, "multi-stage build"
        assert "USER 10001" in text, "runs as non-root"
        stages = re.findall(r"^FROM \S+ AS (\S+)$", text, re.MULTILINE)
        assert artifact["docker"].get("target") in stages, f"{artifact['image']}: no such stage in {stages}"


def template_name(image: str) -> str:
    """How skaffold names an image in template values: IMAGE_REPO_<name>, IMAGE_TAG_<name>, …"""
    return image.replace("-", "_").replace("/", "_")


@pytest.mark.parametrize(("profile", "release"), releases(), ids=lambda x: x if isinstance(x, str) else "")
def test_releases_use_the_repo_chart_and_only_built_images(profile: str, release: dict[str, Any]) -> None:
    assert (ROOT / release["chartPath"] / "Chart.yaml").is_file()
    images = {template_name(a["image"]) for a in SKAFFOLD["build"]["artifacts"]}
    templates = release.get("setValueTemplates", {})
    for template in templates.values():
        for name in re.findall(r"\{\{\.IMAGE_(?:REPO|TAG|DIGEST)_(\w+)\}\}", template):
            assert name in images, f"{profile}: {template} refers to an image skaffold does not build"
    # Each built image reaches the chart: the services' and the operator's.
    assert templates["image.repository"] == "{{.IMAGE_REPO_omnichannel}}"
    assert templates["operator.image.repository"] == "{{.IMAGE_REPO_omnichannel_operator}}"


def test_dev_profile_values_are_accepted_by_the_chart_schema() -> None:
    dev = next(r for p, r in releases() if p == "dev")
    values: dict[str, Any] = {}
    for dotted, value in {**dev["setValues"], "image.tag": "dev"}.items():
        *path, leaf = dotted.split(".")
        node = values
        for key in path:
            node = node.setdefault(key, {})
        node[leaf] = value
    deployments = by_kind(objects(values), "Deployment")
    assert deployments["omni-omnichannel-tickets"]["spec"]["replicas"] == 1
    web = {e["name"]: e.get("value") for e in deployments["omni-omnichannel-web"]["spec"]["template"]["spec"][
        "containers"][0]["env"]}
    # The desk is reached over the plain-http port-forward: a Secure cookie would never come back.
    assert web["OMNI_WEB_COOKIE_SECURE"] == "false" and web["OMNI_WEB_DEMO_SITE"] == "true"


def test_port_forwards_name_services_the_chart_renders() -> None:
    release = SKAFFOLD["deploy"]["helm"]["releases"][0]
    assert release["name"] == "omni"  # the chart test renders the same release name
    services = by_kind(objects(), "Service")
    local_ports = set()
    for forward in SKAFFOLD["portForward"]:
        service = services[forward["resourceName"]]
        assert forward["port"] in {p["port"] for p in service["spec"]["ports"]}
        local_ports.add(forward["localPort"])
    assert len(local_ports) == len(SKAFFOLD["portForward"]), "two forwards on one local port"
