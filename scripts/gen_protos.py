"""Regenerate services/omnichannel/ (Python, gRPC stubs and .pyi) from protos/.

`--check` regenerates into a temporary directory and fails when the checked-in
code differs, so stale generated code is caught by the test suite and CI.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import sys
import tempfile
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
OUT = ROOT / "services" / "omnichannel"


def generate(out_root: Path) -> None:
    # protoc finds the mypy-protobuf plugins on PATH; they sit beside this interpreter.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    sources = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{well_known}",
        f"--python_out={out_root}",
        f"--grpc_python_out={out_root}",
        f"--mypy_out={out_root}",
        f"--mypy_grpc_out={out_root}",
        *sources,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for package_dir in [out_root / "omnichannel", *(out_root / "omnichannel").rglob("*")]:
        if package_dir.is_dir():
            (package_dir / "__init__.py").touch()
    (out_root / "omnichannel" / "py.typed").touch()


def differences(a: Path, b: Path) -> list[str]:
    comparison = filecmp.dircmp(a, b, ignore=["__pycache__"])
    found = [f"only in one tree: {n}" for n in comparison.left_only + comparison.right_only]
    found += [f"differs: {n}" for n in comparison.diff_files]
    found += [f"{name}/{d}" for name in comparison.common_dirs
              for d in differences(a / name, b / name)]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        fresh = Path(tmp) / "omnichannel"
        if options.check:
            stale = differences(fresh, OUT) if OUT.exists() else ["services/omnichannel missing"]
            if stale:
                print("generated code is stale; run `make proto`:", *stale, sep="\n  ")
                return 1
            return 0
        shutil.rmtree(OUT, ignore_errors=True)
        shutil.copytree(fresh, OUT, ignore=shutil.ignore_patterns("__pycache__"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
