"""Preflight of a Databricks job run: fail in seconds, on the driver, before any model is loaded.

The bundle's jobs run this first (`seedvr-preflight`, a `python_wheel_task`) with the same bundle
variables the restore task gets. A variable left empty, a preset too large for the GPU node type, a
GPU count that does not match the node, a bad date range or missing weights each stop the run with a
message that names the variable to fix, instead of an out-of-memory error after the cluster started
and the weights were read.

`check_bundle` and `check_driver_node` hold the rules of the bundle itself (per-target workspace
hosts, production permissions, dedicated access mode, the driver node type) that `databricks bundle
validate` accepts either way; the test suite applies them to databricks.yml offline.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jobs.databricks import sizing
from seedvr import defaults
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
    # The memory model's segment length and VAE tiling for one GPU of the node, at 720p (None: no model).
    memory_plan: str | None = None


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
    node = sizing.get_node_type(args.node_type)
    plan = sizing.segment_plan(args.preset, node.gpu_memory_gb, segment_frames=args.segment_frames)
    return Preflight(args.preset, args.node_type, args.gpus_per_node, args.gpu_slots,
                     get_preset(args.preset).min_gpu_memory_gb, plan.describe() if plan else None)


# Bundle-level permission levels (the CLI maps CAN_RUN to CAN_MANAGE_RUN on jobs).
PERMISSION_LEVELS = ("CAN_VIEW", "CAN_RUN", "CAN_MANAGE")
_PRINCIPALS = ("user_name", "group_name", "service_principal_name")


def check_bundle(bundle: Mapping[str, Any]) -> list[str]:
    """What an assembled bundle (databricks.yml with its includes, variables unresolved) breaks of the
    project's rules, one message per problem; empty when it keeps them all."""
    problems: list[str] = []
    for name, target in (bundle.get("targets") or {}).items():
        host = str((target.get("workspace") or {}).get("host") or "")
        if not host.startswith("https://") or "${" in host:
            problems.append(f"target {name}: workspace.host must be the workspace's https:// URL written out "
                            f"(the CLI resolves no variables there), got {host or 'nothing'!r}")
        if target.get("mode") == "production":
            problems += _permission_problems(name, target.get("permissions") or [])
    for job_name, job in ((bundle.get("resources") or {}).get("jobs") or {}).items():
        for spec in job.get("job_clusters") or []:
            cluster, where = spec.get("new_cluster") or {}, f"job {job_name}, cluster {spec.get('job_cluster_key')}"
            if cluster.get("data_security_mode") != "DATA_SECURITY_MODE_DEDICATED":
                problems.append(f"{where}: data_security_mode must be DATA_SECURITY_MODE_DEDICATED (SINGLE_USER is "
                                f"its legacy name), got {cluster.get('data_security_mode')!r}")
            if cluster.get("kind") != "CLASSIC_PREVIEW" or cluster.get("use_ml_runtime") is not True:
                problems.append(f"{where}: set kind: CLASSIC_PREVIEW and use_ml_runtime: true (dedicated access "
                                "mode needs the kind; the GPU ML runtime then follows from the node type)")
            if not cluster.get("driver_node_type_id"):
                problems.append(f"{where}: set driver_node_type_id (the smallest GPU node type: the driver loads "
                                "no model), else the driver is as large as a worker")
    return problems


def _permission_problems(target: str, permissions: Sequence[Mapping[str, Any]]) -> list[str]:
    if not permissions:
        return [f"target {target}: a production target needs permissions (who may manage, run and view its jobs)"]
    problems = []
    for i, perm in enumerate(permissions):
        who = [k for k in _PRINCIPALS if perm.get(k)]
        if perm.get("level") not in PERMISSION_LEVELS:
            problems.append(f"target {target}: permissions[{i}].level must be one of {', '.join(PERMISSION_LEVELS)}, "
                            f"got {perm.get('level')!r}")
        if len(who) != 1:
            problems.append(f"target {target}: permissions[{i}] must name exactly one of {', '.join(_PRINCIPALS)}")
        elif who == ["user_name"]:
            problems.append(f"target {target}: permissions[{i}] grants {perm['user_name']!r} personally; grant a "
                            "group or a service principal, which outlive a person's account")
    if not any(p.get("level") == "CAN_MANAGE" and p.get("service_principal_name") for p in permissions):
        problems.append(f"target {target}: no service principal has CAN_MANAGE; production deploys come from one")
    return problems


def check_driver_node(driver: str, worker: str) -> sizing.NodeType:
    """The driver node type: a GPU type (GPU ML runtimes refuse a CPU driver) of the workers' cloud, with the
    least GPU memory of that cloud's single-GPU types, since it never holds a model."""
    node, work = sizing.get_node_type(driver), sizing.get_node_type(worker)
    if node.cloud != work.cloud:
        raise ConfigError(f"bundle variable 'gpu_driver_node_type' is {driver} ({node.cloud}) but the workers are "
                          f"{worker} ({work.cloud}); pick a node type of {work.cloud}")
    smallest = min(n.gpu_memory_gb for n in sizing.NODE_TYPES.values() if n.cloud == node.cloud and n.gpus == 1)
    if node.gpus != 1 or node.gpu_memory_gb != smallest:
        raise ConfigError(f"bundle variable 'gpu_driver_node_type' is {driver} ({node.gpus} x {node.gpu} "
                          f"{node.gpu_memory_gb} GB); the driver loads no model: use a single-GPU "
                          f"{smallest} GB type of {node.cloud}")
    return node


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
    p.add_argument("--segment-frames", type=int, default=defaults.SEGMENT_FRAMES,
                   help="segment length the memory plan starts from (4n+1)")
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
    if found.memory_plan:
        print(f"memory plan per GPU at 720p: {found.memory_plan}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
