"""Cost of the segment path: plan -> identity restore -> lossless intermediates -> stitch, vs bare decode+encode.

Both sides decode the same source and run the same final encoder, so the ratio isolates what the
segment machinery adds (overlapping window decodes, lossless intermediates, cross-fades). Target: CPU
ratio <= 1.10 (median of the per-run ratios). The `ffmpeg` CLI transcoding the same clip with the same
x264 settings (it stays in YUV; the model needs RGB) is the second reference. Target: <= 1.25.
Memory: peak RSS of the pipeline on a clip and on one four times longer, each in a fresh process
(peak RSS cannot be reset within one). Target: flat (the stitcher streams).

    .venv/bin/python bench/bench_stitch.py            # 720p, 96 and 384 frames
    .venv/bin/python bench/bench_stitch.py --tiny     # 160x96, 24 and 96 frames

The ratio is printed for each lossless intermediate codec (rawvideo is what `seedvr-clip` uses on
local disk; utvideo is the object-store default), as min/median/max over `--iters` interleaved runs. The
ffmpeg binary is imageio-ffmpeg's (a dev dependency), else the one on PATH.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import shutil
import statistics
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


def ffmpeg_exe() -> str | None:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return shutil.which("ffmpeg")


def run_ffmpeg(exe: str, src: str, out: str, settings: EncodeSettings) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of the ffmpeg CLI transcoding `src` with the final encoder's settings."""
    t0, c0 = time.perf_counter(), cpu_seconds()
    subprocess.run([exe, "-nostdin", "-loglevel", "error", "-y", "-i", src, "-an", "-c:v", "libx264",
                    "-preset", settings.preset, "-crf", str(settings.crf), "-pix_fmt", "yuv420p", out], check=True)
    return time.perf_counter() - t0, cpu_seconds() - c0


def spread(xs: list[float]) -> str:
    return f"{min(xs):.3f}/{statistics.median(xs):.3f}/{max(xs):.3f}"


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
        exe = ffmpeg_exe()
        base: list[tuple[float, float]] = []
        cli: list[tuple[float, float]] = []
        pipe: dict[str, list[tuple[float, float]]] = {c: [] for c in jobs}
        for _ in range(iters):  # interleaved so that machine noise hits every side alike
            base.append(run_baseline(src, out, settings))
            if exe:
                cli.append(run_ffmpeg(exe, src, out, settings))
            for c, j in jobs.items():
                pipe[c].append(run_pipeline(src, out, j))
        for c in jobs:
            # CPU time is the steadier figure on a shared machine; wall time is what a user waits. Each
            # ratio pairs one run of each side, made back to back.
            cpu_r = [p[1] / b[1] for p, b in zip(pipe[c], base, strict=True)]
            wall_r = [p[0] / b[0] for p, b in zip(pipe[c], base, strict=True)]
            row = {"name": "stitch_vs_decode_encode", "intermediate": c, "size": f"{w}x{h}", "frames": n,
                   "segment": seg, "context": ctx, "encoder": f"libx264 crf{settings.crf} {args.preset}",
                   "runs": iters, "baseline_cpu_s": spread([b[1] for b in base]),
                   "pipeline_cpu_s": spread([p[1] for p in pipe[c]]), "cpu_ratio": spread(cpu_r),
                   "wall_ratio": spread(wall_r), "target_cpu_ratio": 1.10}
            if cli:
                row.update(ffmpeg_cpu_s=spread([f[1] for f in cli]),
                           cpu_ratio_to_ffmpeg=spread([p[1] / f[1] for p, f in zip(pipe[c], cli, strict=True)]),
                           target_ratio_to_ffmpeg=1.25)
            emit(args, row)
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
