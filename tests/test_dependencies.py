"""Each image installs only what its processes import (pyproject.toml; the Dockerfile's targets):
the services, the runtime and the bot worker the core dependencies (`service`), the operator the
core plus the `operator` extra (`operator`). Neither may import the simulator's or the dev
dependencies, nor the dev tooling (`omni.devstack`, `omni.simulator`, `omni.cli`)."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
SERVICE_PACKAGES = ("tickets", "sessions", "knowledge", "routing", "worker", "issuer", "runtime", "workforce")
FIRST_PARTY = {"omni", "omnichannel", "agentpool_operator"}
DEV_TOOLING = ("omni.devstack", "omni.simulator", "omni.cli")


@functools.cache
def installed_with(*extras: str) -> frozenset[str]:
    """The distributions `pip install '.[extras]'` brings: omnichannel's requirements, recursively."""
    found: set[str] = set()
    todo: list[tuple[str, frozenset[str]]] = [("omnichannel", frozenset(extras))]
    while todo:
        name, wanted = todo.pop()
        for text in importlib.metadata.requires(name) or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is not None and not any(marker.evaluate({"extra": e}) for e in {"", *wanted}):
                continue
            key = canonicalize_name(requirement.name)
            if key not in found:
                found.add(key)
                todo.append((key, frozenset(requirement.extras)))
    return frozenset(found)


@functools.cache
def providers() -> dict[str, list[str]]:
    """Top-level module -> the installed distributions that provide it."""
    return importlib.metadata.packages_distributions()


@functools.cache
def extras_modules() -> frozenset[str]:
    """Top-level modules of what the operator and simulator extras name beyond the core."""
    added: set[str] = set()
    for text in importlib.metadata.requires("omnichannel") or []:
        requirement = Requirement(text)
        if requirement.marker is not None and any(
                requirement.marker.evaluate({"extra": e}) for e in ("operator", "simulator")):
            added.add(canonicalize_name(requirement.name))
    added -= installed_with()
    return frozenset(top for top, dists in providers().items() if {canonicalize_name(d) for d in dists} & added)


def not_installed_by(modules: Iterable[str], distributions: frozenset[str]) -> dict[str, list[str]]:
    """Top-level modules among `modules` that none of `distributions` provides, with who does."""
    outside: dict[str, list[str]] = {}
    for top in sorted({m.split(".")[0] for m in modules}):
        if top in sys.stdlib_module_names or top in FIRST_PARTY:
            continue
        dists = providers().get(top, [])
        if not {canonicalize_name(d) for d in dists} & distributions:
            outside[top] = dists
    return outside


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function (absolute imports only)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_the_core_leaves_out_what_only_tooling_needs() -> None:
    assert {"grpcio", "pymongo", "nats-py", "bm25s"} <= installed_with()
    assert not {"kopf", "kr8s", "simpy", "matplotlib", "pyyaml", "pytest", "secantusdb"} & installed_with()
    assert {"kopf", "kr8s"} <= installed_with("operator")
    assert {"kopf", "kr8s", "simpy", "matplotlib", "yaml"} <= extras_modules()


@pytest.mark.parametrize("package", SERVICE_PACKAGES)
def test_service_code_imports_only_the_core(package: str) -> None:
    for path in sorted((ROOT / "services" / "omni" / package).rglob("*.py")):
        modules = imports_of(path)
        assert [m for m in modules if m.startswith((*DEV_TOOLING, "agentpool_operator"))] == [], path
        assert not_installed_by(modules, installed_with()) == {}, path


def test_operator_code_imports_only_the_core_and_its_extra() -> None:
    for path in sorted((ROOT / "operator" / "agentpool_operator").rglob("*.py")):
        modules = imports_of(path)
        assert [m for m in modules if m.startswith(DEV_TOOLING)] == [], path
        assert not_installed_by(modules, installed_with("operator")) == {}, path


@pytest.mark.parametrize("service", ["tickets", "sessions", "knowledge", "routing", "worker", "issuer"])
def test_starting_a_service_loads_nothing_of_the_extras(service: str) -> None:
    # What `python -m omni.<service>` imports, imported without running it (its __main__ serves).
    # Libraries of the core also import what they find installed (grpc takes grpc_tools, PyJWT
    # cryptography): here only the extras' own modules are looked for, the services' code above.
    wanted = sorted(imports_of(ROOT / "services" / "omni" / service / "__main__.py"))
    code = ("import sys; before = set(sys.modules); " + "; ".join(f"import {m}" for m in wanted)
            + "; print(*sorted(set(sys.modules) - before), sep='\\n')")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                timeout=120).stdout.split())
    assert f"omni.{service}" in loaded
    assert sorted(m for m in loaded if m.startswith(DEV_TOOLING) or m.split(".")[0] in extras_modules()) == []
