"""Job overhead per segment on the embedded engine versus the restorer's own time, by catalog size.

For each catalog size (1, 10, 100 tiny videos; `--tiny`: 1 and 10) the benchmark ingests the videos
(reported apart), runs one restore job and splits its wall time into the restorer's own time (summed
`restore_s` of the segment rows: the model call only) and everything else the job does around it:
selection, planning, scheduling the UDF, reading and writing intermediates, staging, MERGE, stitching
and recording. Both are measured in the same run, so the ratio overhead / model time is comparable across
machines; with `--preset identity` the model time is near zero and the overhead is the job's floor.

    .venv/bin/python bench/bench_job.py --tiny
    .venv/bin/python bench/bench_job.py --sizes 1 10 100 --preset tiny-v2
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from bench.common import bench_parser, emit, tree_cpu_seconds  # noqa: E402


def make_videos(folder: str, n: int, frames: int, size: tuple[int, int]) -> None:
    import numpy as np

    from seedvr.synthetic import write_mp4

    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        clip = rng.integers(0, 255, (frames, *size, 3), dtype=np.uint8)
        write_mp4(clip, os.path.join(folder, f"v{i:04d}.mp4"), fps=12)


def run_size(spark: object, n: int, args: argparse.Namespace, root: str) -> dict:
    from jobs.catalog.register import ingest
    from jobs.config import deep_merge, load_config, parse_set
    from jobs.restore.pipeline import run_restore
    from jobs.restore.selection import make_selection
    from jobs.tables import ensure_tables, table_refs

    base = os.path.join(root, f"n{n}")
    make_videos(os.path.join(base, "src"), n, args.frames, (args.height, args.width))
    cfg = load_config("local", deep_merge({
        "tables": {"root": f"{base}/tables"},
        "storage": {"output_root": f"{base}/outputs", "work_dir": f"{base}/work"},
        "model": {"preset": args.preset, "target": {"mode": "scale", "value": 1.0}},
        "segments": {"segment_frames": args.segment_frames, "context_frames": args.context_frames},
        "execution": {"gpu_slots": args.slots, "stitch_slots": args.slots, "wave_segments": args.wave,
                      "torch_threads": 1},
        "encode": {"preset": "ultrafast"},
        "tracking": {"enabled": False},
        "ingest": {"shots": args.shots},
    }, parse_set(args.set)))
    tables = table_refs(cfg.tables)
    ensure_tables(spark, tables)
    t0 = time.perf_counter()
    ingest(spark, cfg, tables, source=os.path.join(base, "src"), run_id=f"bench-{n}")
    ingest_s = time.perf_counter() - t0
    c0 = tree_cpu_seconds()
    rep = run_restore(spark, cfg, make_selection(), engine="sail")
    job_cpu_s = tree_cpu_seconds() - c0
    segs = max(1, rep.restored_segments)
    job_s = rep.wall_s
    model_s = rep.restore_s
    overhead_s = job_s - model_s
    out = {
        "videos": n, "segments": rep.restored_segments, "preset": args.preset,
        "job_s": job_s, "model_s": model_s, "overhead_s": overhead_s,
        "overhead_ms_per_segment": 1000 * overhead_s / segs,
        # CPU of the whole job (engine, executor functions, decoder workers): steadier than wall time on a
        # shared machine.
        "job_cpu_s": job_cpu_s, "cpu_ms_per_segment": 1000 * job_cpu_s / segs,
        "model_ms_per_segment": 1000 * model_s / segs,
        "overhead_over_model": overhead_s / model_s if model_s > 0 else float("inf"),
        "ingest_ms_per_video": 1000 * ingest_s / n,
    }
    out["segment_io_ms_per_segment"] = 1000 * rep.segment_io_s / segs
    for stage, secs in rep.stage_s.items():
        out[f"{stage}_ms_per_segment"] = 1000 * secs / segs
    return out


def main() -> int:
    p = bench_parser("restore job overhead per segment vs the restorer's own time (embedded Sail)")
    p.add_argument("--sizes", type=int, nargs="+", default=None, help="catalog sizes (default 1 10 100)")
    p.add_argument("--preset", default="identity", help="restorer preset (identity: the job's floor)")
    p.add_argument("--frames", type=int, default=9, help="frames per video")
    p.add_argument("--height", type=int, default=32)
    p.add_argument("--width", type=int, default=48)
    p.add_argument("--segment-frames", type=int, default=5)
    p.add_argument("--context-frames", type=int, default=1)
    p.add_argument("--slots", type=int, default=2, help="restore/stitch partitions")
    p.add_argument("--wave", type=int, default=256, help="segments per wave")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a config override (as seedvr-restore --set), e.g. execution.video_scores=false")
    p.add_argument("--shots", default="auto", choices=("auto", "transnetv2", "scdet"),
                   help="the ingest's shot detector (scdet: a quicker ingest of large catalogs)")
    args = p.parse_args()
    sizes = args.sizes or ([1, 10] if args.tiny else [1, 10, 100])

    from jobs.config import EngineConfig
    from jobs.engine import start_sail

    server, spark = start_sail(EngineConfig().sail_env)  # the job's own engine settings
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-job-") as root:
            for n in sizes:
                r = run_size(spark, n, args, root)
                rows.append(r)
                emit(args, {"name": "bench_job", **r})
    finally:
        spark.stop()
        server.stop()
    print("\nvideos  segments  job_s   model_ms/seg  overhead_ms/seg  (of which segment I/O)  overhead/model")
    for r in rows:
        print(f"{r['videos']:>6}  {r['segments']:>8}  {r['job_s']:6.2f}  {r['model_ms_per_segment']:12.1f}  "
              f"{r['overhead_ms_per_segment']:15.1f}  {r['segment_io_ms_per_segment']:21.1f}  "
              f"{r['overhead_over_model']:14.1f}")
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        growth = (b["overhead_s"] - a["overhead_s"]) / max(1, b["segments"] - a["segments"])
        print(f"marginal overhead per added segment ({a['videos']} -> {b['videos']} videos): {1000 * growth:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
