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
        # The weight-free detector: fast on CPU (the learned one has its own tests).
        "ingest": {"shots": "scdet"},
    }
    for k, v in over.items():
        doc.setdefault(k, {}).update(v)
    return load_config("local", doc)


def table_records(spark: Any, ref: Any, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    rows = [r.asDict(recursive=True) for r in ref.read(spark).collect()]
    return sorted(({k: v for k, v in r.items() if k not in drop} for r in rows), key=repr)


def write_profile(cfg: JobConfig, path: str) -> str:
    """Dump a config as a YAML profile (for subprocess runs of the console scripts)."""
    import yaml

    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg.model_dump(by_alias=True, mode="json"), f)
    return path


def make_catalog(make_video: Any, folder: str, n: int = 3, *, frames: int = 9, corrupt: int = 0) -> list[str]:
    """`n` good tiny videos (+ `corrupt` files of garbage) under `folder`; returns their paths."""
    import os

    os.makedirs(folder, exist_ok=True)
    paths = [make_video(f"v{i}", frames=frames, size=(32, 48), seed=i, folder=folder) for i in range(n)]
    for j in range(corrupt):
        p = os.path.join(folder, f"broken{j}.mp4")
        with open(p, "wb") as f:
            f.write(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2048))
        paths.append(p)
    return paths
