"""Preflight of a Databricks job run: fail in seconds, on the driver, before any model is loaded.

The bundle's jobs run this first (`seedvr-preflight`, a `python_wheel_task`) with the same bundle
variables the restore task gets. A variable left empty, a preset too large for the GPU node type, a
GPU count that does not match the node, a bad date range or missing weights each stop the run with a
message that names the variable to fix, instead of an out-of-memory error after the cluster started
and the weights were read.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jobs.databricks import sizing
from seedvr.checkpoints.presets import get_preset
from seedvr.errors import ConfigError

# CLI flag dest -> the bundle variable that fills it (the jobs' parameters of the same names default to
# these variables). Order is the order of the messages.
REQUIRED_VARIABLES: dict[str, str] = {
    "catalog": "catalog",
    "schema": "schema",
    "preset": "preset",
    "weights": "weights_root",
    "output_root": "output_root",
    "node_type": "gpu_node_type",
}
# Bundle variables only some jobs need; `--require` names them.
OPTIONAL_VARIABLES: dict[str, str] = {"source": "source_root"}
JOB_PARAMETERS = ("date_from", "date_to", "content_class", "predicate", "ids")


@dataclass(frozen=True)
class Preflight:
    """What the checks found, for the log line of the run."""

    preset: str
    node_type: str
    gpus_per_node: int
    gpu_slots: int
    min_gpu_memory_gb: float


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_required(values: Mapping[str, object], required: Sequence[str] = tuple(REQUIRED_VARIABLES)) -> None:
    """Raise ConfigError naming every empty bundle variable or job parameter among `required`."""
    missing = [name for name in required if _empty(values.get(name))]
    if not missing:
        return
    parts = []
    for name in missing:
        if name in REQUIRED_VARIABLES or name in OPTIONAL_VARIABLES:
            var = REQUIRED_VARIABLES.get(name) or OPTIONAL_VARIABLES[name]
            parts.append(f"bundle variable '{var}' is empty (set it under targets.<target>.variables in "
                         f"databricks.yml or deploy with --var {var}=...)")
        else:
            parts.append(f"job parameter '{name}' is empty (run with --params {name}=...)")
    raise ConfigError("; ".join(parts))


def parse_date(name: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"job parameter '{name}' must be an ISO date (YYYY-MM-DD), got {value!r}") from None


def check_dates(date_from: str | None, date_to: str | None) -> None:
    """Both dates parse and the range is not reversed (an empty range would silently restore nothing)."""
    start = parse_date("date_from", date_from) if not _empty(date_from) else None
    end = parse_date("date_to", date_to) if not _empty(date_to) else None
    if start and end and start > end:
        raise ConfigError(f"date_from {start} is after date_to {end}: the backfill range is empty")


def check_gpus(node_type: str, gpus_per_node: int, gpu_slots: int, workers: int | None) -> sizing.NodeType:
    """The executor GPU amount must match the node, and the stage must not ask for more slots than GPUs."""
    node = sizing.get_node_type(node_type)
    if gpus_per_node != node.gpus:
        raise ConfigError(f"bundle variable 'gpus_per_node' is {gpus_per_node} but {node.name} has {node.gpus} "
                          f"GPU(s); set gpus_per_node={node.gpus} so every GPU gets a task")
    if workers is not None and gpu_slots > max(workers, 1) * node.gpus:
        raise ConfigError(f"bundle variable 'gpu_slots' is {gpu_slots} but the cluster has "
                          f"{max(workers, 1) * node.gpus} GPU(s) ({workers} x {node.name}); "
                          "lower gpu_slots or raise gpu_workers")
    return node


def check_weights(preset: str, weights: str) -> None:
    """A released preset needs its DiT file in the weights folder; read only the listing, not the file."""
    p = get_preset(preset)
    if p.is_identity or p.files is None or p.random_init_seed is not None:
        return
    import fsspec

    fs, root = fsspec.core.url_to_fs(weights)
    names = {n.rstrip("/").rsplit("/", 1)[-1] for n in fs.ls(root, detail=False)} if fs.isdir(root) else set()
    if not names.intersection(p.files.dit):
        raise ConfigError(f"bundle variable 'weights_root' = {weights!r} holds none of {list(p.files.dit)} "
                          f"for preset {preset!r}; upload the checkpoint there (see README, Deploy on Databricks)")


def check_source(source: str) -> None:
    """The nightly ingest scans `source_root`; a wrong path would make every night a silent no-op."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(source)
    if not fs.exists(root):
        raise ConfigError(f"bundle variable 'source_root' = {source!r} does not exist; create the folder or "
                          "point source_root at the landing folder of new videos")


def run_checks(args: argparse.Namespace) -> Preflight:
    """Every check that needs no SparkSession, in the order a person would fix them."""
    values = vars(args)
    check_required(values, [*REQUIRED_VARIABLES, *args.require])
    check_dates(args.date_from, args.date_to)
    sizing.check_preset_fits(args.preset, args.node_type)
    check_gpus(args.node_type, args.gpus_per_node, args.gpu_slots, args.workers)
    if args.check_weights:
        check_weights(args.preset, args.weights)
    if not _empty(args.source):
        check_source(args.source)
    return Preflight(args.preset, args.node_type, args.gpus_per_node, args.gpu_slots,
                     get_preset(args.preset).min_gpu_memory_gb)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seedvr-preflight", description=__doc__.splitlines()[0])
    for name in ("catalog", "schema", "preset", "weights", "output_root", "node_type"):
        p.add_argument("--" + name.replace("_", "-"), dest=name, default=None)
    p.add_argument("--gpus-per-node", type=int, default=1)
    p.add_argument("--gpu-slots", type=int, default=1)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--source", default=None, help="ingest folder (bundle variable source_root)")
    for name in JOB_PARAMETERS:
        p.add_argument("--" + name.replace("_", "-"), dest=name, default=None)
    p.add_argument("--require", type=lambda s: [x.strip() for x in s.split(",") if x.strip()], default=[],
                   help="comma-separated job parameters that must be set (e.g. date_from,date_to)")
    p.add_argument("--no-check-weights", dest="check_weights", action="store_false")
    p.add_argument("--job-run-id", default=None, help="{{job.run_id}}, echoed for the run log")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        found = run_checks(args)
    except ConfigError as exc:
        parser.exit(2, f"preflight failed: {exc}\n")
    print(f"preflight ok: preset {found.preset} (~{found.min_gpu_memory_gb:g} GB) on {found.node_type} "
          f"x{found.gpus_per_node} GPU, {found.gpu_slots} GPU slot(s), run {args.job_run_id or '-'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
