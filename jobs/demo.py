"""`seedvr-demo` (= `make demo`): build a small sample catalog, ingest it, restore it on embedded Sail.

Everything lives under one work folder (default ./var/demo): the sample clips, the Delta tables, the
restored videos and the MLflow database. A second run reuses the clips and finds nothing pending.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from jobs.catalog.register import ingest
from jobs.cli import EXIT_OK, add_model_flags, base_parser, config_from_args, run_main
from jobs.config import JobConfig
from jobs.engine import session
from jobs.provenance import new_run_id
from jobs.restore.pipeline import run_restore
from jobs.restore.selection import make_selection
from jobs.restore.summary import print_summary
from jobs.tables import ensure_tables, table_refs


def build_parser() -> argparse.ArgumentParser:
    p = base_parser("seedvr-demo", "Build a sample catalog (CC0-image clips with camera motion and "
                                   "degradations, plus a generated-looking clip), ingest it and restore it "
                                   "with a tiny model on the embedded engine; prints where everything is.")
    g = p.add_argument_group("demo")
    g.add_argument("--clips", type=int, default=4, help="sample clips to generate (default 4)")
    g.add_argument("--frames", type=int, default=13, help="frames per clip (default 13)")
    g.add_argument("--size", default="48x80", help="HxW of the degraded clips (default 48x80)")
    g.add_argument("--no-mlflow", action="store_true", help="do not log an MLflow run")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_model_flags(p)
    p.set_defaults(profile="demo")
    return p


def sample_catalog(folder: Path, clips: int, frames: int, size: tuple[int, int]) -> list[dict]:
    """Generate the clips once; later runs reuse them (same bytes, same mtime: nothing to re-ingest)."""
    index = folder / "catalog.json"
    wanted = {"clips": clips, "frames": frames, "size": list(size)}
    stamp = folder / "params.json"
    if index.is_file() and stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        rows = json.loads(index.read_text())
        if all(os.path.isfile(r["path"]) for r in rows):
            return rows
    from seedvr.synthetic import make_sample_catalog

    rows = make_sample_catalog(folder, clips=clips, frames=frames, size=size)
    stamp.write_text(json.dumps(wanted))
    return rows


def model_note(cfg: JobConfig) -> str | None:
    """Said first (and by the summary at the end) when the model has no trained weights, so nobody mistakes
    noise for a result."""
    from seedvr.checkpoints.presets import get_preset

    p = get_preset(cfg.model.preset)
    if p.random_init_seed is None or cfg.model.weights:
        return None
    return (f"note: preset {p.name} is a tiny SeedVR with seeded random weights: the restored videos are coloured "
            "noise and their scores only show that the pipeline (decode, segments, restore, stitch, Delta, "
            "MLflow) runs end to end. For a real restoration, point the job at released weights: "
            "seedvr-restore --preset seedvr2-3b --weights PATH_OR_URL (see the README, 'Real weights').")


def _main(args: argparse.Namespace) -> int:
    if args.work_dir:
        root = args.work_dir.rstrip("/")
        args.overrides = [f"tables.root={root}/tables", f"storage.output_root={root}/outputs", *args.overrides]
    cfg = config_from_args(args)
    if args.no_mlflow:
        cfg = cfg.model_copy(update={"tracking": cfg.tracking.model_copy(update={"enabled": False})})
    try:
        h, w = (int(x) for x in args.size.lower().split("x"))
    except ValueError:
        from seedvr.errors import ConfigError

        raise ConfigError(f"--size must be HxW such as 64x96, got {args.size!r}") from None
    work = Path(cfg.storage.work_dir)
    t0 = time.perf_counter()
    note = model_note(cfg)
    if note:
        print(note, flush=True)
    print(f"[1/3] sample catalog under {work / 'catalog'}", flush=True)
    rows = sample_catalog(work / "catalog", args.clips, args.frames, (h, w))
    with session(cfg.engine) as eng:
        tables = table_refs(cfg.tables)
        ensure_tables(eng.spark, tables)
        print(f"[2/3] ingest {len(rows)} clips into {tables.videos.label} (engine: {eng.name})", flush=True)
        rep = ingest(eng.spark, cfg, tables, source=str(work / "catalog"), run_id=new_run_id(), manifest=rows)
        print(f"      new {rep.new}, changed {rep.changed}, unchanged {rep.unchanged}, "
              f"probe failures {rep.probed_failed}", flush=True)
        slots = cfg.execution.gpu_slots
        print(f"[3/3] restore with preset {cfg.model.preset} on {slots} slot{'' if slots == 1 else 's'}", flush=True)
        res = run_restore(eng.spark, cfg, make_selection(), engine=eng.name, run_id=args.run_id or None,
                          show_progress=not args.no_progress)
        if res.selected == 0:  # a rerun: show what earlier runs recorded for this config
            done = tables.restorations.read(eng.spark).filter(f"config_hash = '{res.config_hash}'").toPandas()
            if len(done):
                res.restorations, res.selected = done, len(done)
                res.message = f"nothing pending: {len(done)} videos already restored with config {res.config_hash}"
    print_summary(cfg, res)
    print(f"demo finished in {time.perf_counter() - t0:.1f}s; work folder: {work.resolve()}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_main, build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
