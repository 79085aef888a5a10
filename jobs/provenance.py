"""Who produced a row: run id, Databricks job/run ids, code version, engine, device type."""

from __future__ import annotations

import functools
import os
import subprocess
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jobs.schemas import PROVENANCE_FIELDS

# Databricks passes {{job.id}} / {{job.run_id}} as parameters; these env names are the fallback.
JOB_ID_ENVS = ("DATABRICKS_JOB_ID", "SEEDVR_JOB_ID")
JOB_RUN_ID_ENVS = ("DATABRICKS_JOB_RUN_ID", "DATABRICKS_RUN_ID", "SEEDVR_JOB_RUN_ID")


def new_run_id() -> str:
    return uuid.uuid4().hex


def _first_env(names: tuple[str, ...]) -> str | None:
    for n in names:
        if os.environ.get(n):
            return os.environ[n]
    return None


@functools.lru_cache(maxsize=1)
def git_sha() -> str | None:
    """Short sha of the checkout the code runs from, when it is one (not inside an installed wheel)."""
    repo = Path(__file__).resolve().parent.parent
    if not (repo / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        )
        return out.stdout.strip() or None
    except Exception:
        return None


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """`<package version>[+g<git sha>]`."""
    try:
        from importlib.metadata import version

        v = version("seedvr-lakehouse")
    except Exception:
        import seedvr

        v = seedvr.__version__
    sha = git_sha()
    return f"{v}+g{sha}" if sha else v


def device_type() -> str:
    """The GPU model when CUDA is visible on the driver, else "cpu" (executors report their own device)."""
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except Exception:
        pass
    return "cpu"


@dataclass(frozen=True)
class Provenance:
    run_id: str
    job_id: str | None
    job_run_id: str | None
    preset: str
    weights_sha256: str | None
    weights: str | None
    code_version: str
    config_hash: str
    engine: str
    device_type: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def columns(self) -> dict[str, Any]:
        """Values for the provenance columns of result rows (named once, in jobs.schemas.PROVENANCE_FIELDS)."""
        return {name: getattr(self, name) for name, _ in PROVENANCE_FIELDS}


def make_provenance(
    *,
    run_id: str,
    preset: str,
    weights: str | None,
    weights_sha256: str | None,
    config_hash: str,
    engine: str,
    job_id: str | None = None,
    job_run_id: str | None = None,
) -> Provenance:
    return Provenance(
        run_id=run_id,
        job_id=job_id or _first_env(JOB_ID_ENVS),
        job_run_id=job_run_id or _first_env(JOB_RUN_ID_ENVS),
        preset=preset,
        weights_sha256=weights_sha256,
        weights=weights,
        code_version=code_version(),
        config_hash=config_hash,
        engine=engine,
        device_type=device_type(),
    )
