"""Issue 13, item 15 (part): the dependency floors in pyproject.toml exclude every release with a
published advisory we know of, and what is installed is above them."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
# Package → (first release without the advisories, the advisories).
FIXED_IN = {
    "aiosmtpd": ("1.4.6", "CVE-2024-27305 (SMTP smuggling, fixed 1.4.5), CVE-2024-34083 (STARTTLS command injection)"),
    "aiosmtplib": ("5.1.2", "PYSEC-2026-2338 (CR/LF command injection through sender and recipient addresses)"),
    "pyjwt": ("2.12.0", "CVE-2024-53861 (partial issuer match, 2.10.0), CVE-2026-32597 (unchecked crit header)"),
}


def _core_requirements() -> dict[str, Requirement]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    return {Requirement(text).name.lower(): Requirement(text) for text in project["dependencies"]}


@pytest.mark.parametrize("package", sorted(FIXED_IN))
def test_no_vulnerable_release_satisfies_the_floor(package: str) -> None:
    fixed, advisories = FIXED_IN[package]
    requirement = _core_requirements()[package]
    last_vulnerable = Version(fixed).release
    # The release just below the fix (1.4.5 for 1.4.6, 5.1.1 for 5.1.2, 2.11.99 for 2.12.0).
    below = ".".join(str(n) for n in (*last_vulnerable[:-1], last_vulnerable[-1] - 1)) if last_vulnerable[-1] \
        else ".".join(str(n) for n in (*last_vulnerable[:-2], last_vulnerable[-2] - 1, 99))
    assert not requirement.specifier.contains(below, prereleases=True), f"{requirement} admits {below}: {advisories}"
    assert requirement.specifier.contains(fixed)
    installed = importlib.metadata.version(package)
    assert Version(installed) >= Version(fixed), f"{package} {installed} is installed: {advisories}"
