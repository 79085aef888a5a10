"""Selection and planning of a synthetic catalog of millions of segments, with what comes back to the driver.

The catalog is written by executors (`spark.range`, no files, no probing): `--plan-scale` segments in
videos of `--segments-per-video` each, with the probe columns the planner reads (num_frames; width,
height, fps and a minimal info_json for the rest). Then the restore job's own functions run as they do
in `run_restore`, restoring nothing:

1. dry run: `run_restore(..., dry_run=True)` end to end (selection, planning, the anti-join against the
   finished segments, per-video aggregates for the estimate);
2. plan: selection, the planner, its failures collected, the anti-join and the waves MERGEd into
   segment_plan (`jobs.restore.waves.record_plan`), counts per wave back;
3. reduce: an ok result row per planned segment (written by executors, as if restored), then the
   reducer's rows per video (`jobs.restore.reduce.video_segments`) and their segment lists' size.

Printed: the seconds of each phase and per segment, the driver's peak RSS, and every result that came
back to the driver or went to the server (DataFrame.collect/toPandas, createDataFrame), the largest by
rows and by Arrow bytes. With `--server process` (default) the Sail server runs in a child process, so
the driver's RSS is the driver's alone and the server's peak is printed apart; `--server inline` runs it
in-process as the tests do (then the RSS is both).

    .venv/bin/python bench/bench_plan.py --plan-scale 2000000
    .venv/bin/python bench/bench_plan.py --tiny
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from bench.common import bench_parser, emit  # noqa: E402

SEGMENT_FRAMES, CONTEXT_FRAMES = 33, 4
_SERVER = """
import sys, time
from pysail.spark import SparkConnectServer
s = SparkConnectServer(ip="127.0.0.1", port=0)
s.start(background=True)
print("%s:%d" % s.listening_address, flush=True)
sys.stdin.read()
"""


class Messages:
    """Sizes of what crosses the Spark Connect channel from the driver's side, one entry per call."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int, int]] = []  # (call, rows, Arrow bytes)

    def record(self, call: str, pdf: Any) -> None:
        import pyarrow as pa

        table = pa.Table.from_pandas(pdf, preserve_index=False)
        self.seen.append((call, table.num_rows, table.nbytes))

    def install(self) -> Callable[[], None]:
        import pandas as pd
        from pyspark.sql.connect.dataframe import DataFrame
        from pyspark.sql.connect.session import SparkSession

        to_pandas, collect, create = DataFrame.toPandas, DataFrame.collect, SparkSession.createDataFrame

        def watched_to_pandas(df: Any) -> Any:
            out = to_pandas(df)
            self.record("toPandas", out)
            return out

        def watched_collect(df: Any) -> Any:
            rows = collect(df)
            self.record("collect", pd.DataFrame([r.asDict() for r in rows]))
            return rows

        def watched_create(session: Any, data: Any, *a: Any, **k: Any) -> Any:
            if isinstance(data, pd.DataFrame):
                self.record("createDataFrame", data)
            return create(session, data, *a, **k)

        DataFrame.toPandas, DataFrame.collect, SparkSession.createDataFrame = (  # type: ignore[method-assign]
            watched_to_pandas, watched_collect, watched_create)

        def undo() -> None:
            DataFrame.toPandas, DataFrame.collect, SparkSession.createDataFrame = (  # type: ignore[method-assign]
                to_pandas, collect, create)
        return undo

    def largest(self) -> dict[str, Any]:
        if not self.seen:
            return {"messages": 0}
        by_rows = max(self.seen, key=lambda m: m[1])
        by_bytes = max(self.seen, key=lambda m: m[2])
        return {"messages": len(self.seen), "max_rows": by_rows[1], "max_rows_call": by_rows[0],
                "max_bytes": by_bytes[2], "max_bytes_call": by_bytes[0], "max_bytes_rows": by_bytes[1]}


def write_catalog(spark: Any, tables: Any, videos: int, frames: int) -> None:
    """`videos` catalog rows of `frames` frames each, probed in name only, written by executors."""
    from pyspark.sql import functions as F

    from jobs.schemas import VIDEOS
    from jobs.tables import conform

    vid = F.format_string("syn%08d", F.col("id"))
    info = (f'{{"num_frames": {frames}, "fps": 24.0, "width": 64, "height": 48, "time_base": [1, 24], '
            '"pts": null, "rotation": 0}')
    df = spark.range(videos).select(
        vid.alias("video_id"), F.concat(F.lit("file:///synthetic/"), vid, F.lit(".mp4")).alias("uri"),
        F.lit("synthetic").alias("content_class"), F.current_date().alias("added_date"),
        F.current_timestamp().alias("added_at"), F.lit(1 << 20).cast("long").alias("size_bytes"),
        F.sha2(vid, 256).substr(1, 16).alias("file_version"), F.lit("ok").alias("probe_status"),
        F.lit(frames).cast("long").alias("num_frames"), F.lit(64).alias("width"), F.lit(48).alias("height"),
        F.lit(24.0).alias("fps"), F.lit(frames / 24.0).alias("duration_s"), F.lit("h264").alias("codec"),
        F.lit(8).alias("bit_depth"), F.lit(False).alias("has_audio"), F.lit(info).alias("info_json"),
        F.current_timestamp().alias("probed_at"), F.lit("file:///synthetic/").alias("source_root"),
    )
    tables.videos.append(conform(df, VIDEOS))


def frames_for(segments_per_video: int) -> int:
    """The frame count whose plan has exactly `segments_per_video` segments."""
    from seedvr.video.plan import plan_segments

    frames = SEGMENT_FRAMES
    while len(plan_segments(frames, SEGMENT_FRAMES, CONTEXT_FRAMES)) < segments_per_video:
        frames += SEGMENT_FRAMES - CONTEXT_FRAMES
    while len(plan_segments(frames, SEGMENT_FRAMES, CONTEXT_FRAMES)) > segments_per_video:
        frames -= 1
    return frames


def server_peak_mb(server: Any) -> float | None:
    """The server process's peak RSS so far (Linux /proc), when it runs apart."""
    if not isinstance(server, subprocess.Popen):
        return None
    with open(f"/proc/{server.pid}/status", encoding="ascii") as f:
        return next(int(ln.split()[1]) / 1024 for ln in f if ln.startswith("VmHWM:"))


def plan_phase(spark: Any, cfg: Any, tables: Any, peak: Callable[[], float | None]) -> dict[str, Any]:
    """What run_restore does from selection through the waves, restoring nothing (then the reducer's
    aggregation); `peak` reads the server's peak RSS between the two."""
    from pyspark.sql import functions as F

    from jobs.config import config_hash
    from jobs.restore.selection import apply_selection, make_selection
    from jobs.restore.wave_cost import wave_sizing
    from jobs.restore.waves import PLAN_KEY, drop_run_plan, mark_todo, planned_once, record_plan
    from udfs.arrow_stage import map_stage
    from udfs.plan import PlanSegments

    t0 = time.perf_counter()
    chash = config_hash(cfg, None)
    selected = apply_selection(spark, tables.videos.read(spark), make_selection())
    sel = selected.select("video_id", "probe_status").toPandas()
    t_select = time.perf_counter() - t0
    planner = PlanSegments(cfg.segments.segment_frames, cfg.segments.context_frames, chash)
    planned = planned_once(spark, tables, map_stage(
        selected.select("video_id", "uri", "file_version", "num_frames", "analysis_json"), planner,
        PlanSegments.output_schema), "bench-plan")
    failures = planned.filter(F.col("segment_index") < 0).select("video_id", "error_message").toPandas()
    done = (tables.segments.read(spark).filter((F.col("config_hash") == chash) & (F.col("status") == "ok"))
            .select(*PLAN_KEY))
    plan = mark_todo(planned.filter(F.col("segment_index") >= 0).drop("error_class", "error_message"), done)
    mine, n, waves, _ = record_plan(spark, tables, plan, sizing=wave_sizing(spark, tables, cfg, chash),
                                    run_id="bench-plan")
    out: dict[str, Any] = {"videos": len(sel), "plan_failures": len(failures), "segments": n, "waves": len(waves),
           "select_s": t_select, "plan_s": time.perf_counter() - t0 - t_select,
           "server_peak_after_plan_mb": peak()}
    out.update(reduce_phase(spark, tables, mine, chash))
    drop_run_plan(spark, tables, "bench-plan")
    return out


def reduce_phase(spark: Any, tables: Any, plan: Any, chash: str) -> dict[str, Any]:
    """Every planned segment given an ok result row (written by executors), then the reducer's per-video
    rows: the counts that come back, and the segment lists the stitch tasks would read."""
    from pyspark.sql import functions as F

    from jobs.restore.reduce import video_segments
    from jobs.schemas import SEGMENT_RESULTS
    from jobs.tables import conform

    results = plan.select(
        "video_id", "config_hash", "segment_index", "file_version", "uri", "window_start", "first_output",
        "last_output", F.lit("ok").alias("status"), F.lit("bench-plan").alias("run_id"),
        F.concat(F.lit("file:///synthetic/segments/"), F.col("video_id"), F.lit("/"),
                 F.col("segment_index").cast("string"), F.lit(".mkv")).alias("intermediate_uri"),
        F.sha2(F.concat(F.col("video_id"), F.col("segment_index").cast("string")), 256).alias("intermediate_sha256"),
        (F.col("last_output") - F.col("first_output") + 1).alias("frames_out"), F.lit(0.5).alias("restore_s"),
        F.lit(0.01).alias("read_s"), F.lit(0.01).alias("write_s"), F.lit("cpu").alias("device_type"))
    t0 = time.perf_counter()
    tables.segments.append(conform(results, SEGMENT_RESULTS))
    t_results = time.perf_counter() - t0
    t0 = time.perf_counter()
    per_video = video_segments(plan, tables.segments.read(spark).filter(F.col("config_hash") == chash),
                               "bench-plan")
    vids = per_video.drop("segments_json").toPandas()
    t_reduce = time.perf_counter() - t0
    t0 = time.perf_counter()
    json_bytes = per_video.agg(F.sum(F.length("segments_json")).alias("n")).collect()[0]["n"]
    return {"results_write_s": t_results, "reduce_s": t_reduce, "reduced_videos": len(vids),
            "reduced_restored": int(vids["run_restored"].sum()), "segment_lists_s": time.perf_counter() - t0,
            "segment_lists_mb": (json_bytes or 0) / 1e6}


def connect(mode: str) -> tuple[Any, Any]:
    """(a handle to stop the server, the session): a child process, or in-process as in the tests."""
    if mode == "inline":
        from jobs.engine import start_sail

        server, spark = start_sail({})
        return server, spark
    from pyspark.sql.connect.client import DefaultChannelBuilder
    from pyspark.sql.connect.session import SparkSession

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([_REPO, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", _SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=env, cwd=_REPO)
    address = proc.stdout.readline().strip()  # type: ignore[union-attr]
    builder = DefaultChannelBuilder(f"sc://{address}", channelOptions=[
        ("grpc.max_receive_message_length", 1 << 30), ("grpc.max_send_message_length", 1 << 30)])
    return proc, SparkSession.builder.channelBuilder(builder).create()


def main() -> int:
    p = bench_parser("selection and planning of a synthetic catalog on Sail: time, driver RSS, messages")
    p.add_argument("--plan-scale", type=int, default=2_000_000, help="segments in the synthetic catalog")
    p.add_argument("--segments-per-video", type=int, default=100)
    p.add_argument("--wave", type=int, default=256, help="segments per wave")
    p.add_argument("--preset", default="identity",
                   help="model preset: one with a DiT (tiny-v2) also prices segments to size waves by time")
    p.add_argument("--server", choices=("process", "inline"), default="process")
    p.add_argument("--skip-dry-run", action="store_true")
    args = p.parse_args()
    scale = 20_000 if args.tiny else args.plan_scale
    per_video = min(args.segments_per_video, scale)
    frames = frames_for(per_video)
    n_videos = max(1, scale // per_video)

    from jobs.config import load_config
    from jobs.restore.pipeline import run_restore
    from jobs.restore.selection import make_selection
    from jobs.tables import ensure_tables, table_refs

    server, spark = connect(args.server)
    messages = Messages()
    out: dict[str, Any] = {"name": "bench_plan", "server": args.server, "videos": n_videos,
                           "segments_per_video": per_video}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-plan-") as root:
            cfg = load_config("local", {
                "tables": {"root": f"{root}/tables"},
                "storage": {"output_root": f"{root}/outputs", "work_dir": f"{root}/work"},
                "model": {"preset": args.preset, "target": {"mode": "scale", "value": 1.0}},
                "segments": {"segment_frames": SEGMENT_FRAMES, "context_frames": CONTEXT_FRAMES,
                             "split_at_cuts": False},
                "execution": {"wave_segments": args.wave},
                "tracking": {"enabled": False},
            })
            tables = table_refs(cfg.tables)
            ensure_tables(spark, tables)
            t0 = time.perf_counter()
            write_catalog(spark, tables, n_videos, frames)
            out["catalog_s"] = time.perf_counter() - t0
            undo = messages.install()
            try:
                if not args.skip_dry_run:
                    t0 = time.perf_counter()
                    rep = run_restore(spark, cfg, make_selection(), track=False, dry_run=True)
                    out["dry_run_s"] = time.perf_counter() - t0
                    out["dry_run_segments"] = rep.dry_run.segments_todo if rep.dry_run else 0
                    out["server_peak_after_dry_run_mb"] = server_peak_mb(server)
                out.update(plan_phase(spark, cfg, tables, lambda: server_peak_mb(server)))
            finally:
                undo()
    finally:
        spark.stop()
        if isinstance(server, subprocess.Popen):
            server.stdin.close()  # type: ignore[union-attr]
            server.wait(timeout=60)
        else:
            server.stop()
    segs = max(1, out.get("segments", 0))
    out["plan_us_per_segment"] = 1e6 * out.get("plan_s", 0.0) / segs
    out["reduce_us_per_segment"] = 1e6 * out.get("reduce_s", 0.0) / segs
    if "dry_run_s" in out:
        out["dry_run_us_per_segment"] = 1e6 * out["dry_run_s"] / segs
    # ru_maxrss is in KiB on Linux; RUSAGE_CHILDREN: the largest waited-for child (the server process).
    out["driver_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.server == "process":
        out["server_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out.update(messages.largest())
    emit(args, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
