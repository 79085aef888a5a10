"""The wheel the bundle deploys: it builds, and its console scripts run from a clean environment.

Databricks installs the wheel and calls its entry points; a module missing from the package list, a
console script pointing at a renamed function or an import of the source tree would only show there.
The check installs the built wheel (no dependencies) into a fresh virtual environment that borrows the
third-party packages of the shared one through a `.pth` file, and runs each script from a temp cwd.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
# Build outputs and local state are not sources: copying them would hide a missing package entry.
IGNORE = shutil.ignore_patterns(".venv", ".git", "build", "dist", "var", "__pycache__", "*.egg-info",
                                ".pytest_cache", ".ruff_cache", ".hypothesis", "mlruns", "mlflow.db")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build from a copy of the working tree, so the checkout gets no build/ or egg-info churn."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=IGNORE)
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--skip-dependency-check",
         "--outdir", str(tmp / "dist"), str(src)],
        check=True, capture_output=True, text=True, timeout=120,
    )
    (whl,) = (tmp / "dist").glob("*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with only the wheel installed; third-party imports resolve through a .pth file."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=60)
    py = env_dir / "bin" / "python"
    purelib = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  check=True, capture_output=True, text=True).stdout.strip())
    # Only the directory goes on sys.path: the shared venv's own .pth files (among them the editable
    # install of this project) are not executed from there.
    (purelib / "shared_site_packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index",
                    "--quiet", "--disable-pip-version-check", str(wheel)],
                   check=True, capture_output=True, text=True, timeout=120)
    return env_dir


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def test_wheel_holds_the_packages_and_declares_every_console_script(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        entry_points = next(zf.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"seedvr", "udfs", "jobs"}, "tests, notebooks and conf must not ship as packages"
    profiles = {Path(n).name for n in names if "/data/share/seedvr-lakehouse/conf/" in n}
    assert {p.name for p in (ROOT / "conf").glob("*.yaml")} <= profiles, "job profiles ship as data files"
    for script, target in SCRIPTS.items():
        assert f"{script} = {target}" in entry_points


def test_console_scripts_run_from_the_wheel_not_the_source_tree(venv: Path, tmp_path: Path) -> None:
    procs = {
        script: subprocess.Popen([str(venv / "bin" / script), "--help"], cwd=tmp_path, env=clean_env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for script in SCRIPTS
    }
    failures = []
    for script, proc in procs.items():
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0 or "usage" not in out.lower():
            failures.append(f"{script} --help exited {proc.returncode}:\n{out[-1500:]}")
    assert not failures, "\n".join(failures)

    modules = sorted({target.split(":")[0] for target in SCRIPTS.values()})
    code = "import importlib,sys\nfor m in sys.argv[1:]: print(importlib.import_module(m).__file__)"
    files = subprocess.run([str(venv / "bin" / "python"), "-c", code, *modules], cwd=tmp_path, env=clean_env(),
                           check=True, capture_output=True, text=True, timeout=120).stdout.split()
    assert len(files) == len(modules)
    for f in files:
        assert Path(f).resolve().is_relative_to(venv.resolve()), f"{f} is not the installed wheel's copy"


def test_installed_wheel_finds_its_job_profiles_without_a_checkout(venv: Path, tmp_path: Path) -> None:
    code = "from jobs.config import load_config; cfg = load_config('demo'); print(type(cfg).__name__)"
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=tmp_path, env=clean_env(),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-1500:]


# ------------------------------------------------------------------------------------------ metadata

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _requirements(lines: list[str]) -> dict[str, object]:
    from packaging.requirements import Requirement

    return {Requirement(line).name: Requirement(line) for line in lines}


def test_torch_range_admits_the_tested_pin_and_matches_the_makefile_fallback() -> None:
    import re

    torch = _requirements(PROJECT["dependencies"])["torch"]
    makefile = (ROOT / "Makefile").read_text()
    pin = re.search(r'"torch==([0-9.]+)"', makefile)
    assert pin and torch.specifier.contains(pin.group(1)), f"{torch} does not admit the Makefile's {pin}"
    assert torch.specifier.contains("2.13.9") and not torch.specifier.contains("2.14.0"), torch
    from packaging.specifiers import SpecifierSet

    fallback = re.search(r'"torch(>=[^"]+)"', makefile)
    assert fallback and SpecifierSet(fallback.group(1)) == torch.specifier, "the fallback is pyproject's range"
    constraints = dict(line.split("==", 1) for line in (ROOT / "constraints.txt").read_text().splitlines()
                       if "==" in line and not line.startswith("#"))
    assert torch.specifier.contains(constraints["torch"].split("+")[0])


def test_scikit_image_is_core_because_every_restore_scores_with_it() -> None:
    assert "scikit-image" in _requirements(PROJECT["dependencies"])
    assert "from skimage.metrics import" in (ROOT / "seedvr" / "quality" / "fullref.py").read_text()


def test_object_store_extras_exist_for_every_protocol_the_storage_error_names() -> None:
    from seedvr.video.storage import _EXTRAS

    extras = {name: _requirements(lines) for name, lines in PROJECT["optional-dependencies"].items()}
    constraints = dict(line.split("==", 1) for line in (ROOT / "constraints.txt").read_text().splitlines()
                       if "==" in line and not line.startswith("#"))
    for scheme, (extra, package) in _EXTRAS.items():
        assert package in extras.get(extra, {}), f"{scheme}:// points at extra {extra!r} without {package}"
        assert extras[extra][package].specifier.contains(constraints[package]), (package, constraints[package])
