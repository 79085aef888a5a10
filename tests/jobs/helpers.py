"""Helpers for the job tests: a tiny config under a temp folder, and table reads as plain records."""

from __future__ import annotations

from typing import Any

from jobs.config import JobConfig, load_config


def tiny_config(root: str, *, preset: str = "identity", tables_root: str | None = None,
                output_root: str | None = None, **over: Any) -> JobConfig:
    """Identity/tiny model, 5-frame segments with 1 frame of context, 2 slots, MLflow off."""
    doc: dict[str, Any] = {
        "tables": {"root": tables_root or f"{root}/tables"},
        "storage": {"output_root": output_root or f"{root}/outputs", "work_dir": f"{root}/work"},
        "model": {"preset": preset, "target": {"mode": "scale", "value": 1.0, "multiple": 2}},
        "segments": {"segment_frames": 5, "context_frames": 1},
        "execution": {"gpu_slots": 2, "stitch_slots": 2, "probe_slots": 2, "wave_segments": 64,
                      "torch_threads": 1},
        "encode": {"preset": "ultrafast"},
        "tracking": {"enabled": False},
    }
    for k, v in over.items():
        doc.setdefault(k, {}).update(v)
    return load_config("local", doc)


def table_records(spark: Any, ref: Any, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    rows = [r.asDict(recursive=True) for r in ref.read(spark).collect()]
    return sorted(({k: v for k, v in r.items() if k not in drop} for r in rows), key=repr)
