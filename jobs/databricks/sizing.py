"""Which cluster node types can run which preset: GPU memory per node type and the fit check.

A preset that does not fit its node type fails only after minutes of cluster start and model load,
with an out-of-memory error deep in the DiT. The check here runs first, on the driver, and names the
node types that would fit. `python -m jobs.databricks.sizing` prints the sizing table of the README.

The memory a preset needs comes from the memory model (`seedvr.memory.plan`): weights plus the largest
phase of a segment. `segment_plan` picks the segment length and VAE tiling a node's GPU holds.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from seedvr import defaults
from seedvr.checkpoints.presets import PRESETS, get_preset
from seedvr.errors import ConfigError
from seedvr.memory.plan import MemoryPlan, plan_segment

# Where a Databricks cluster reports its worker node type.
CLUSTER_NODE_TYPE_CONF = "spark.databricks.clusterUsageTags.clusterNodeType"
# Part of the nominal memory a job can use: the CUDA context, the allocator's reserve and GB vs GiB.
USABLE_FRACTION = 0.9


@dataclass(frozen=True)
class NodeType:
    """One cloud instance type as Databricks names it (`node_type_id`)."""

    name: str
    cloud: str
    gpu: str
    gpus: int
    gpu_memory_gb: int  # per GPU, nominal

    @property
    def usable_gb(self) -> float:
        return self.gpu_memory_gb * USABLE_FRACTION


def _family(cloud: str, gpu: str, memory_gb: int, sizes: Iterable[tuple[str, int]]) -> list[NodeType]:
    return [NodeType(name, cloud, gpu, gpus, memory_gb) for name, gpus in sizes]


NODE_TYPES: dict[str, NodeType] = {
    n.name: n
    for n in [
        # AWS
        *_family("aws", "T4", 16, [("g4dn.xlarge", 1), ("g4dn.2xlarge", 1), ("g4dn.12xlarge", 4)]),
        *_family("aws", "A10G", 24, [("g5.xlarge", 1), ("g5.2xlarge", 1), ("g5.4xlarge", 1),
                                     ("g5.12xlarge", 4), ("g5.48xlarge", 8)]),
        *_family("aws", "L4", 24, [("g6.xlarge", 1), ("g6.2xlarge", 1), ("g6.4xlarge", 1),
                                   ("g6.12xlarge", 4), ("g6.48xlarge", 8)]),
        *_family("aws", "L40S", 48, [("g6e.xlarge", 1), ("g6e.2xlarge", 1), ("g6e.4xlarge", 1),
                                     ("g6e.12xlarge", 4), ("g6e.48xlarge", 8)]),
        *_family("aws", "A100", 40, [("p4d.24xlarge", 8)]),
        *_family("aws", "A100", 80, [("p4de.24xlarge", 8)]),
        *_family("aws", "H100", 80, [("p5.48xlarge", 8)]),
        # Azure
        *_family("azure", "T4", 16, [("Standard_NC4as_T4_v3", 1), ("Standard_NC64as_T4_v3", 4)]),
        *_family("azure", "A10", 24, [("Standard_NV36ads_A10_v5", 1)]),
        *_family("azure", "A100", 80, [("Standard_NC24ads_A100_v4", 1), ("Standard_NC48ads_A100_v4", 2),
                                       ("Standard_NC96ads_A100_v4", 4), ("Standard_ND96amsr_A100_v4", 8)]),
        *_family("azure", "A100", 40, [("Standard_ND96asr_v4", 8)]),
        *_family("azure", "H100 NVL", 94, [("Standard_NC40ads_H100_v5", 1), ("Standard_NC80adis_H100_v5", 2)]),
        # GCP
        *_family("gcp", "L4", 24, [("g2-standard-4", 1), ("g2-standard-8", 1), ("g2-standard-48", 4)]),
        *_family("gcp", "A100", 40, [("a2-highgpu-1g", 1), ("a2-highgpu-2g", 2), ("a2-highgpu-8g", 8)]),
        *_family("gcp", "A100", 80, [("a2-ultragpu-1g", 1), ("a2-ultragpu-8g", 8)]),
        *_family("gcp", "H100", 80, [("a3-highgpu-8g", 8)]),
    ]
}

# One recommendation per cloud and preset size: the smallest single-GPU node that fits.
RECOMMENDED = {"aws": ("g5.xlarge", "g6e.xlarge"), "azure": ("Standard_NV36ads_A10_v5", "Standard_NC24ads_A100_v4"),
               "gcp": ("g2-standard-4", "a2-highgpu-1g")}


def get_node_type(name: str) -> NodeType:
    """Look a node type up; unknown names fail with the list, since a typo would skip the check."""
    if not name or not name.strip():
        raise ConfigError("GPU node type is empty: set the bundle variable gpu_node_type (e.g. g6e.xlarge)")
    try:
        return NODE_TYPES[name.strip()]
    except KeyError:
        known = ", ".join(sorted(NODE_TYPES))
        raise ConfigError(f"unknown GPU node type {name!r}; known GPU node types: {known}. "
                          "For another type, pass its GPU memory explicitly (--gpu-memory-gb).") from None


def nodes_that_fit(preset: str, cloud: str | None = None) -> list[NodeType]:
    """Node types whose GPUs each hold the preset: single-GPU nodes first, then by memory, then size."""
    need = get_preset(preset).min_gpu_memory_gb
    order = {name: i for i, name in enumerate(NODE_TYPES)}
    fit = [n for n in NODE_TYPES.values() if n.usable_gb >= need and (cloud is None or n.cloud == cloud)]
    return sorted(fit, key=lambda n: (n.gpus > 1, n.gpu_memory_gb, order[n.name]))


def check_preset_fits(preset: str, node_type: str, *, gpu_memory_gb: float | None = None) -> NodeType | None:
    """Raise ConfigError when one GPU of `node_type` cannot hold `preset`; return the node type.

    `gpu_memory_gb` overrides the table for node types it does not list (then None is returned).
    """
    need = get_preset(preset).min_gpu_memory_gb
    node = None if gpu_memory_gb is not None else get_node_type(node_type)
    have = gpu_memory_gb * USABLE_FRACTION if gpu_memory_gb is not None else node.usable_gb
    if need > have:
        cloud = node.cloud if node else None
        options = ", ".join(f"{n.name} ({n.gpu_memory_gb} GB {n.gpu})" for n in nodes_that_fit(preset, cloud)[:4])
        raise ConfigError(
            f"preset {preset!r} needs about {need:g} GB of GPU memory per GPU, but node type {node_type!r} "
            f"offers {have:.1f} GB usable; choose a larger node type (e.g. {options}) or a smaller preset")
    return node


def segment_plan(preset: str, gpu_memory_gb: float, *, height: int = 720, width: int = 1280,
                 segment_frames: int = defaults.SEGMENT_FRAMES) -> MemoryPlan | None:
    """The longest segment (at most `segment_frames`) and largest VAE tile that fit one GPU of
    `gpu_memory_gb` nominal GB (its usable part) at height x width; None for presets without a model."""
    p = get_preset(preset)
    if p.dit is None:
        return None
    budget = int(gpu_memory_gb * USABLE_FRACTION * 1e9)
    return plan_segment(p.dit, p.vae, height, width, budget, max_frames=segment_frames,
                        cfg_guidance=p.sampling.cfg_scale != 1.0)


def cluster_node_type(spark: Any) -> str | None:
    """The worker node type of the Databricks cluster behind `spark`; None on other engines."""
    if not os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        return None
    try:
        return spark.conf.get(CLUSTER_NODE_TYPE_CONF, None) or None
    except Exception:  # noqa: BLE001 - a runtime without the tag is simply not checked
        return None


def check_session_fits(spark: Any, preset: str) -> NodeType | None:
    """`check_preset_fits` against the cluster the session runs on, for entry points and notebooks.

    Node types missing from the table are not judged (None), so a new instance family never blocks a run.
    """
    node = cluster_node_type(spark)
    if node is None or node not in NODE_TYPES:
        return None
    return check_preset_fits(preset, node)


def sizing_markdown(presets: Sequence[str] | None = None) -> str:
    """The README's sizing table, generated from `Preset.min_gpu_memory_gb` and the node table."""
    names = [p for p in (presets or PRESETS) if get_preset(p).min_gpu_memory_gb > 0]
    rows = ["| preset | GPU memory (GB) | AWS | Azure | GCP |", "|---|---|---|---|---|"]
    for name in names:
        cells = []
        for cloud in ("aws", "azure", "gcp"):
            fit = nodes_that_fit(name, cloud)
            pick = next((n for n in fit if n.name in RECOMMENDED[cloud]), fit[0] if fit else None)
            cells.append(f"`{pick.name}` ({pick.gpu} {pick.gpu_memory_gb} GB)" if pick else "none")
        rows.append(f"| `{name}` | {get_preset(name).min_gpu_memory_gb:g} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the sizing table, or check one preset against one node type."""
    parser = argparse.ArgumentParser(prog="python -m jobs.databricks.sizing", description=__doc__)
    parser.add_argument("--preset", help="check this preset against --node-type")
    parser.add_argument("--node-type", help="Databricks node_type_id, e.g. g6e.xlarge")
    args = parser.parse_args(argv)
    if args.preset or args.node_type:
        try:
            node = check_preset_fits(args.preset or "", args.node_type or "")
        except ConfigError as exc:
            parser.exit(2, f"error: {exc}\n")
        print(f"{args.preset} fits {node.name} ({node.gpus} x {node.gpu} {node.gpu_memory_gb} GB)")
        plan = segment_plan(args.preset, node.gpu_memory_gb)
        if plan is not None:
            print(f"memory plan per GPU: {plan.describe()}")
    else:
        print(sizing_markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
