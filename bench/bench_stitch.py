"""Cost of the segment path: plan -> identity restore -> lossless intermediates -> stitch, vs bare decode+encode.

Both sides decode the same source and run the same final encoder, so the ratio isolates what the
segment machinery adds (overlapping window decodes, lossless intermediates, cross-fades). Target: <= 1.25.
Memory: peak RSS of the pipeline on a clip and on one four times longer, each in a fresh process
(peak RSS cannot be reset within one). Target: flat (the stitcher streams).

    .venv/bin/python bench/bench_stitch.py            # 720p, 96 and 384 frames
    .venv/bin/python bench/bench_stitch.py --tiny     # 160x96, 24 and 96 frames

The ratio is printed for each lossless intermediate codec (rawvideo is what `seedvr-clip` uses on
local disk; utvideo is the object-store default).
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc

import av
import numpy as np
from common import bench_parser, emit  # noqa: I001 - also puts the repository on sys.path

from seedvr.restorer import IdentityRestorer
from seedvr.video.decode import iter_frames
from seedvr.video.encode import EncodeSettings
from seedvr.video.pipeline import ClipJob, restore_clip
from seedvr.video.probe import probe
from seedvr.video.stitch import encode_stream


def make_source(path: str, n: int, w: int, h: int) -> None:
    """A smooth moving pattern with light noise (x264 veryfast), like ordinary camera footage."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    noise = rng.normal(0, 4, (h, w, 1)).astype(np.float32)
    with av.open(path, "w") as c:
        s = c.add_stream("libx264", rate=25, options={"preset": "veryfast", "crf": "20"})
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for t in range(n):
            r = 128 + 100 * np.sin((xx + 3 * t) / 37.0) * np.cos(yy / 53.0)
            g = 128 + 90 * np.sin((yy - 2 * t) / 29.0)
            b = 128 + 80 * np.cos((xx + yy + 4 * t) / 61.0)
            arr = np.clip(np.stack([r, g, b], -1) + noise, 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(arr, format="rgb24").reformat(
                format="yuv420p", dst_colorspace="itu709", dst_color_range="MPEG")
            frame.pts = t
            c.mux(s.encode(frame))
        c.mux(s.encode())


def cpu_seconds() -> float:
    """CPU time of this process and its reaped children (the probe runs in a child)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_pipeline(src: str, out: str, job: ClipJob) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of the full segment path."""
    t0, c0 = time.perf_counter(), cpu_seconds()
    restore_clip(src, out, IdentityRestorer(1), job=job)
    return time.perf_counter() - t0, cpu_seconds() - c0


def run_baseline(src: str, out: str, settings: EncodeSettings) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of probe + decode + the same final encode."""
    t0, c0 = time.perf_counter(), cpu_seconds()
    info = probe(src)
    encode_stream(info, enumerate(iter_frames(src, 0, info.num_frames, info)), out, settings=settings,
                  copy_audio=False)
    return time.perf_counter() - t0, cpu_seconds() - c0


def memory_child(src: str, out: str, job_json: str) -> None:
    """Run the pipeline once and print peak RSS / traced Python+numpy peak as JSON (fresh process)."""
    d = json.loads(job_json)
    job = ClipJob(segment_frames=d["segment_frames"], context_frames=d["context_frames"],
                  settings=EncodeSettings(preset=d["preset"], crf=d["crf"]))
    tracemalloc.start()
    seconds, _ = run_pipeline(src, out, job)
    _, traced_peak = tracemalloc.get_traced_memory()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"peak_rss_bytes": rss, "traced_peak_bytes": traced_peak, "seconds": seconds}))


def measure_memory(src: str, out: str, job: ClipJob) -> dict:
    payload = json.dumps({"segment_frames": job.segment_frames, "context_frames": job.context_frames,
                          "preset": job.settings.preset, "crf": job.settings.crf})
    res = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-child", src, out, payload],
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    p = bench_parser("segment path vs bare decode+encode; memory flatness")
    p.add_argument("--preset", default="medium", help="x264 preset of the final encode (product default)")
    p.add_argument("--frames", type=int, default=None, help="frames of the timed clip")
    args = p.parse_args()
    w, h = (160, 96) if args.tiny else (1280, 720)
    n = args.frames or (24 if args.tiny else 96)
    iters = args.iters or (1 if args.tiny else 2)
    seg, ctx = (9, 2) if args.tiny else (33, 8)
    settings = EncodeSettings(crf=18, preset=args.preset)
    job = ClipJob(segment_frames=seg, context_frames=ctx, settings=settings)
    with tempfile.TemporaryDirectory(prefix="bench-stitch-") as tmp:
        src, src4 = os.path.join(tmp, "src.mp4"), os.path.join(tmp, "src4.mp4")
        make_source(src, n, w, h)
        make_source(src4, 4 * n, w, h)
        out = os.path.join(tmp, "out.mp4")
        run_baseline(src, out, settings)  # warm-up: forkserver, codec init, page cache
        jobs = {c: dataclasses.replace(job, intermediate_codec=c) for c in ("rawvideo", "utvideo", "ffv1")}
        base: list[tuple[float, float]] = []
        pipe: dict[str, list[tuple[float, float]]] = {c: [] for c in jobs}
        for _ in range(iters):  # interleaved so that machine noise hits every side alike
            base.append(run_baseline(src, out, settings))
            for c, j in jobs.items():
                pipe[c].append(run_pipeline(src, out, j))
        b_wall, b_cpu = min(x[0] for x in base), min(x[1] for x in base)
        for c in jobs:
            p_wall, p_cpu = min(x[0] for x in pipe[c]), min(x[1] for x in pipe[c])
            # CPU time is the steadier figure on a shared machine; wall time is what a user waits.
            emit(args, {"name": "stitch_vs_decode_encode", "intermediate": c, "size": f"{w}x{h}", "frames": n,
                        "segment": seg, "context": ctx, "encoder": f"libx264 crf18 {args.preset}",
                        "baseline_s": b_wall, "pipeline_s": p_wall, "ratio": p_wall / b_wall,
                        "baseline_cpu_s": b_cpu, "pipeline_cpu_s": p_cpu, "cpu_ratio": p_cpu / b_cpu,
                        "pipeline_fps": n / p_wall, "target_ratio": 1.25})
        m1 = measure_memory(src, out, job)
        m4 = measure_memory(src4, out, job)
        emit(args, {"name": "stitch_memory", "size": f"{w}x{h}", "frames_short": n, "frames_long": 4 * n,
                    "peak_rss_mb_short": m1["peak_rss_bytes"] / 2**20,
                    "peak_rss_mb_long": m4["peak_rss_bytes"] / 2**20,
                    "rss_growth": m4["peak_rss_bytes"] / m1["peak_rss_bytes"],
                    "traced_peak_mb_short": m1["traced_peak_bytes"] / 2**20,
                    "traced_peak_mb_long": m4["traced_peak_bytes"] / 2**20,
                    "one_window_mb": seg * w * h * 3 / 2**20})


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--memory-child":
        memory_child(*sys.argv[2:5])
    else:
        main()
