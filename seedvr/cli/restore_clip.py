"""`seedvr-clip`: restore one video file or URL without Spark.

    seedvr-clip in.mp4 out.mp4 --weights /models/seedvr2-3b/            # SeedVR2 3B, 720p area
    seedvr-clip s3://b/in.mov out.mkv --preset seedvr2-7b --weights s3://b/w/ --short-side 1080
    seedvr-clip in.mp4 out.mp4 --preset tiny-v2 --dry-run                # the plan, nothing loaded

Defaults and the model, size and segment flags are shared with the job (seedvr.defaults,
seedvr.cli.flags). Flags, model choice and output location are checked before the input is opened.
`--dry-run` probes the input and prints the plan; when the run it describes would fail (no weights, say)
it prints the plan and the problem and exits 2, as that run would. Exit status: 0 on success, 2 for bad
input or configuration, 1 for unexpected failures, 130 when interrupted (Ctrl-C: one line, no output
file; a second Ctrl-C leaves at once); every error is one line naming the thing and the fix (`--verbose`
adds the traceback). Progress goes to stderr: bars on a terminal, elsewhere throttled lines
(`--progress-interval`, or `$SEEDVR_PROGRESS_INTERVAL_S` as for seedvr-restore).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

# Only light imports here: the Ctrl-C guard must be in place before torch is imported (seconds), or a
# Ctrl-C right after the start would end in a traceback from the middle of an import.
from seedvr.cli import disclosure
from seedvr.cli.interrupt import EXIT_INTERRUPTED, SigintGuard, leave
from seedvr.cli.progress import PLAIN_INTERVAL_S
from seedvr.errors import ConfigError, SeedVRError, error_class_of, first_line

PROG = "seedvr-clip"
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
INTERRUPTED_LINE = f"{PROG}: interrupted; stopped, no output was written"
INTERVAL_ENV = "SEEDVR_PROGRESS_INTERVAL_S"


def build_parser() -> argparse.ArgumentParser:
    from seedvr import defaults
    from seedvr.cli.flags import add_archive_flags, add_model_flags

    p = argparse.ArgumentParser(prog=PROG, description="Restore one video with SeedVR (no Spark).",
                                epilog="exit codes: 0 done (for --dry-run: the run would start); 1 unexpected "
                                       "error; 2 bad input or configuration (--dry-run: after the plan, when "
                                       "the run would stop, e.g. without weights); 130 interrupted (a second "
                                       "Ctrl-C forces the exit)")
    p.add_argument("input", help="input video: a path or any fsspec URL (s3://, dbfs:/Volumes/...)")
    p.add_argument("output", help="output video (.mp4, .mov, .mkv); written atomically")
    groups = add_model_flags(p)
    size = groups["size"]
    size.add_argument("--area", dest="resolution", help=argparse.SUPPRESS)
    size.add_argument("--target-scale", dest="scale", type=float, help=argparse.SUPPRESS)
    s = groups["segments"]
    s.add_argument("--blend", default=defaults.BLEND, choices=("hann", "linear", "none"), help="cross-fade ramp")
    s.add_argument("--work-dir", default=None, help="where segment intermediates go (default: a temp dir)")
    s.add_argument("--keep-segments", action="store_true", help="keep the intermediates after stitching")
    s.add_argument("--intermediate", default="auto", choices=("auto", "rawvideo", "utvideo", "ffv1"),
                   help="lossless codec of the segment files (auto: rawvideo on local disk, utvideo on "
                        "object stores; ffv1: smallest, slowest)")
    add_archive_flags(p)
    e = p.add_argument_group("encoder")
    e.add_argument("--codec", default="libx264", choices=("libx264", "libx265", "libsvtav1", "ffv1"))
    e.add_argument("--crf", type=int, default=18)
    e.add_argument("--encoder-preset", default="medium", help="x264/x265 preset name or SVT-AV1 number")
    e.add_argument("--lossless", action="store_true", help="FFV1 RGB in MKV (exact; large files)")
    bits = e.add_mutually_exclusive_group()
    bits.add_argument("--ten-bit", dest="ten_bit", action="store_const", const=True, default=None,
                      help="force 10-bit output (default: 10-bit for >8-bit or HDR sources)")
    bits.add_argument("--eight-bit", dest="ten_bit", action="store_const", const=False, help="force 8-bit output")
    o = p.add_argument_group("run")
    o.add_argument("--dry-run", action="store_true", help="check everything and print the plan (source, output "
                                                          "size, segments, memory) without loading the model")
    o.add_argument("--gpu-memory", default=None, metavar="SIZE",
                   help="GPU memory to plan segments and VAE tiles for, e.g. 24GiB or 80GB (default: the free "
                        "memory of the CUDA device when there is one); the plan picks the longest segment up to "
                        "--segment-frames and the largest tile predicted to fit")
    o.add_argument("--threads", default="auto", metavar="auto|all|N",
                   help="torch threads: auto (the default: seedvr.threads' budget for one model on this "
                        "process's cores, which containers and taskset narrow), all (the libraries' own "
                        "defaults) or a number")
    o.add_argument("--probe-timeout", type=float, default=120.0, help="seconds allowed for probing")
    o.add_argument("--quiet", action="store_true", help="no progress output")
    o.add_argument("--progress-interval", type=float, default=None, metavar="SECONDS",
                   help="when stderr is not a terminal (a log file, CI), at most one progress line per stage "
                        f"every SECONDS, plus each stage's first and last (default: ${INTERVAL_ENV} as for "
                        f"seedvr-restore, else {PLAIN_INTERVAL_S:g})")
    o.add_argument("--json", action="store_true", help="print a JSON summary (or plan) on stdout")
    o.add_argument("-v", "--verbose", action="store_true", help="tracebacks with errors")
    disclosure.add_flags(p)
    return p


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """Every flag checked and normalised, before anything is opened."""
    from seedvr import defaults
    from seedvr.restorer import TargetSize
    from seedvr.video.encode import EncodeSettings, container_format
    from seedvr.video.plan import validate_plan_params

    validate_plan_params(1, args.segment_frames, args.context_frames)
    interval = _progress_interval(args.progress_interval)
    target = TargetSize(*defaults.target_spec(args.resolution, args.short_side, args.scale))
    dtype = defaults.normalize_dtype(args.dtype)
    vae_tile = defaults.parse_vae_tile(args.vae_tile)
    from seedvr.checkpoints.presets import get_preset

    preset = get_preset(args.preset)
    problems: list[str] = []
    try:
        defaults.validate_model_choice(preset, args.weights, target=target, dtype=dtype, attention=args.attention,
                                       color_fix=args.color_fix, vae_tile=vae_tile)
    except ConfigError as exc:
        if not args.dry_run:
            raise
        problems.append(str(exc))  # missing or absent weights: the plan is still worth showing
    enc = EncodeSettings.lossless() if args.lossless else EncodeSettings(
        codec=args.codec, crf=args.crf, preset=args.encoder_preset, ten_bit=args.ten_bit)
    container_format(args.output, enc)
    return {"preset": preset, "target": target, "dtype": dtype, "vae_tile": vae_tile, "encode": enc,
            "problems": problems, "progress_interval": interval}


def _progress_interval(flag: float | None) -> float:
    """--progress-interval, else $SEEDVR_PROGRESS_INTERVAL_S (the job's variable), else 5 s."""
    raw, name = (flag, "--progress-interval") if flag is not None else (os.environ.get(INTERVAL_ENV), INTERVAL_ENV)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return PLAIN_INTERVAL_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not value >= 0:
        raise ConfigError(f"{name} {raw!r} must be 0 or more seconds")
    return value


def _describe_target(target: Any) -> str:
    from seedvr import defaults

    if target.mode == "area":
        return f"area {int(target.value):,} px"
    if target.mode == "short_side":
        named = next((n for n, (w, h) in defaults.NAMED_RESOLUTIONS.items() if min(w, h) == target.value), None)
        return (f"{named}: " if named else "") + f"short side {int(target.value)} px"
    return f"scale {target.value:g}"


def _model_summary(args: argparse.Namespace, s: dict[str, Any]) -> dict[str, Any]:
    p = s["preset"]
    if p.is_identity:
        return {"preset": p.name}
    weights = args.weights or ("missing" if p.needs_weights else "seeded random")
    return {"preset": p.name, "weights": weights, "dtype": s["dtype"] or "auto",
            "attention": args.attention, "color fix": args.color_fix, "vae tile": _tile_text(s["vae_tile"]),
            "seed": args.seed}


def _gpu_budget(args: argparse.Namespace) -> tuple[int | None, str]:
    """Bytes to plan for and where the figure comes from: --gpu-memory, else the CUDA device's free memory."""
    from seedvr.memory.plan import parse_memory

    if args.gpu_memory:
        try:
            return parse_memory(args.gpu_memory), "--gpu-memory"
        except ValueError as exc:
            raise ConfigError(f"--gpu-memory: {exc}") from None
    import torch

    if (args.device or "cuda").startswith("cuda") and torch.cuda.is_available():
        device = torch.device(args.device or "cuda")
        return int(torch.cuda.mem_get_info(device)[0]), f"free on {device}"
    return None, ""


def _memory_plan(args: argparse.Namespace, s: dict[str, Any], out_hw: tuple[int, int],
                 in_hw: tuple[int, int]) -> Any:
    """The memory model's plan (seedvr.memory.plan) for the output size: a `MemoryPlan` for a stated or
    detected budget, else the `SegmentMemory` of the requested segment; None without a model."""
    from seedvr.memory import plan as mp
    from seedvr.restorer.clip import coerce_tiling

    p = s["preset"]
    if p.is_identity:
        return None
    budget, source = _gpu_budget(args)
    e = mp.dtype_bytes(s["dtype"]) if s["dtype"] else (2 if budget is not None else 4)
    kw = {"e": e, "backend": "sdpa" if args.attention == "sdpa" else "flash",
          "cfg_guidance": p.sampling.cfg_scale != 1.0, "input_hw": in_hw}
    tiling = coerce_tiling(s["vae_tile"]) if s["vae_tile"] else "auto"
    h, w = out_hw
    if budget is None:
        return mp.segment_memory(p.dit, p.vae, args.segment_frames, h, w,
                                 tiling=None if tiling == "auto" else tiling, **kw)
    plan = mp.plan_segment(p.dit, p.vae, h, w, budget, max_frames=args.segment_frames,
                           min_frames=args.context_frames + 1, tiling=tiling, **kw)
    return plan, source


def _tile_text(tile: Any) -> Any:
    """A tile flag (px or None: auto) or a planned `VAETiling`, as the plan prints it."""
    if hasattr(tile, "tile_px"):
        return f"{tile.tile_px}/{tile.overlap_px} px (planned)"
    return tile or "auto"


def _plan(args: argparse.Namespace, s: dict[str, Any], info: Any, segments: list, archive: Any = None,
          memory: Any = None) -> Any:
    from seedvr.cli.preflight import Plan
    from seedvr.video.decode import window_bytes
    from seedvr.video.prepared import output_size

    prep = archive.preparation if archive is not None else None
    w, h = output_size(prep, s["target"], info.height, info.width)
    gb = s["preset"].min_gpu_memory_gb
    return Plan(source=info.summary(), output=args.output, output_size=(w, h),
                target=_describe_target(s["target"]), model=_model_summary(args, s), segments=len(segments),
                segment_frames=args.segment_frames, context_frames=args.context_frames,
                last_segment_frames=segments[-1].window_frames,
                window_bytes=window_bytes(info, max(sg.window_frames for sg in segments)),
                model_memory_gb=gb or None, problems=tuple(s["problems"]),
                archive=archive.to_dict() if archive is not None else None, gpu_plan=memory)


def _load(args: argparse.Namespace, s: dict[str, Any]) -> Any:
    from seedvr.restorer import load_restorer

    p = s["preset"]
    if p.is_identity:
        return load_restorer(p)
    return load_restorer(p, args.weights, device=args.device, dtype=s["dtype"], attention=args.attention,
                         vae_tiling=s["vae_tile"], color_fix=args.color_fix, compile=args.compile, fp8=args.fp8)


def run(args: argparse.Namespace, cancel: threading.Event | None = None,
        on_force: list[Callable[[], object]] | None = None,
        unwindable: threading.Event | None = None) -> dict[str, Any]:
    """Do the work for parsed arguments; returns the JSON-safe summary (or the plan, for --dry-run).

    `on_force` receives what a forced exit (a second Ctrl-C) must still undo: the scratch folder.
    """
    from seedvr.cli.preflight import check_output_location
    from seedvr.cli.progress import make_progress
    from seedvr.video.pipeline import ClipJob, restore_clip
    from seedvr.video.plan import plan_segments
    from seedvr.video.probe import probe

    # 1. flags, model choice and output location: seconds, before anything is opened or loaded
    s = _settings(args)
    budget = _thread_budget(args.threads)
    if budget is not None:
        s["encode"] = replace(s["encode"], threads=budget.encode)
    check_output_location(args.output, args.input, create=not args.dry_run)
    signing = disclosure.signing_refs(args)
    # 2. the source, what it really holds, and the plan
    info = probe(args.input, timeout_s=args.probe_timeout)
    archive = _analysed(args, info)
    frames, cuts = info.num_frames, ()
    if archive is not None:  # the prepared stream's frames, before it is written (exact after it is)
        rate = archive.preparation.rate if archive.preparation is not None else 1
        frames = max(1, int(info.num_frames * rate))
        cuts = tuple(sorted({min(frames - 1, int(c * rate)) for c in archive.cuts} - {0}))
    from seedvr.video.prepared import output_size

    out_w, out_h = output_size(archive.preparation if archive is not None else None, s["target"],
                               info.height, info.width)
    memory = _memory_plan(args, s, (out_h, out_w), (info.height, info.width))
    # The plan comes first: a budget that cannot hold the requested segment gets shorter segments and
    # the tiling predicted to fit; the VAE's out-of-memory retry stays the fallback.
    if isinstance(memory, tuple) and memory[0].fits:
        args.segment_frames = memory[0].segment_frames
        if s["vae_tile"] is None:
            s["vae_tile"] = memory[0].tiling
    segments = plan_segments(frames, args.segment_frames, args.context_frames, cuts)
    plan = _plan(args, s, info, segments, archive, memory)
    if args.dry_run:
        return {"dry_run": True, "plan": plan}
    report = make_progress(PROG, quiet=args.quiet, interval_s=s["progress_interval"])
    try:
        # 3. the model
        p = s["preset"]
        t0 = time.perf_counter()
        what = "" if p.is_identity else (f": weights {args.weights or 'seeded random'}, device "
                                         f"{args.device or 'auto'}, dtype {args.dtype}")
        report.note(f"loading {p.name} ({p.description}){what}")
        if budget is not None and not p.is_identity:
            from seedvr.threads import apply_torch_threads

            apply_torch_threads(budget.torch)
        restorer = _load(args, s)
        report.note(f"model ready in {time.perf_counter() - t0:.1f} s; restoring {len(segments)} segment{'' if len(segments) == 1 else 's'} of "
                    f"{info.width}x{info.height} to {plan.output_size[0]}x{plan.output_size[1]}")
        # 4. restore and stitch, one segment ahead in a thread
        job = ClipJob(segment_frames=args.segment_frames, context_frames=args.context_frames, blend=args.blend,
                      seed=args.seed, target=s["target"], settings=s["encode"], intermediate_codec=args.intermediate)
        report.update("restore", 0, len(segments), "segments")

        def progress(stage: str, done: int, total: int) -> None:
            report.update(stage, done, total, "segments" if stage == "restore" else "frames")

        # A scratch folder of our own, so that a forced exit can remove it too.
        scratch = None if args.work_dir or args.keep_segments else tempfile.mkdtemp(prefix="seedvr-clip-")
        if scratch is not None and on_force is not None:
            on_force.append(lambda: shutil.rmtree(scratch, ignore_errors=True))
        prep_dir = args.work_dir or scratch or tempfile.mkdtemp(prefix="seedvr-clip-prep-")
        try:
            prepared = None
            if archive is not None:
                from seedvr.cli.flags import prepare_options
                from seedvr.video.prepared import prepare_for_restore

                if archive.preparation is not None and archive.preparation.needed:
                    report.note("preparing the source: " + "; ".join(archive.preparation.applied))
                prepared = prepare_for_restore(args.input, info, prepare_options(args), prep_dir,
                                               analysis=archive.analysis)
            applied = prepared.preparation.applied if prepared is not None and prepared.rewritten else ()
            seal = disclosure.sealer(signing, args, p, restorer, applied)
            if signing is not None and signing.test_only:
                report.note("signing the output with a self-signed TEST certificate (for testing only; "
                            "--signing-key and --certificate-chain sign for publication)")
            if unwindable is not None:  # from here the main thread waits in Python: a Ctrl-C can unwind
                unwindable.set()
            result = restore_clip(args.input, args.output, restorer, job=job, info=info,
                                  work_dir=args.work_dir or scratch, keep_segments=args.keep_segments,
                                  progress=progress, cancel=cancel, prepared=prepared, seal=seal)
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
            if prep_dir not in (args.work_dir, scratch) and not args.keep_segments:
                shutil.rmtree(prep_dir, ignore_errors=True)
    finally:
        report.close()
    return {
        "input": args.input,
        "output": result.stitch.url,
        "frames": result.stitch.num_frames,
        "size": [result.stitch.width, result.stitch.height],
        "segments": len(result.segments),
        "codec": result.stitch.codec,
        "pix_fmt": result.stitch.pix_fmt,
        "audio_packets_copied": sum(result.stitch.copied_packets.values()),
        "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
        "source": info.summary(),
        "archive": result.prepared.to_dict() if result.prepared is not None else None,
        "threads": budget.as_dict() if budget is not None else "library defaults",
        "disclosure": disclosure.summary(seal),
    }


def _thread_budget(text: str) -> Any:
    """The thread budget of `--threads` (None for "all"). One model runs at a time, and the encoder that
    overlaps it is light beside it: the model gets every core (measured on 2 cores with tiny-v2, halving
    torch's threads for the encoder made the clip 1.6x slower in wall time for 10% less CPU)."""
    from seedvr.errors import ConfigError
    from seedvr.threads import plan_threads

    value = str(text).strip().lower()
    if value == "all":
        return None
    if value == "auto":
        return plan_threads(tasks=1)
    if value.isdigit() and int(value) > 0:
        return plan_threads(tasks=1, torch=int(value))
    raise ConfigError(f"--threads {text!r} must be auto, all or a number of threads")


def _analysed(args: argparse.Namespace, info: Any) -> Any:
    """The analysis and the preparation it calls for, as a `PreparedSource` without its mezzanine yet
    (None for --archive off). Decodes the whole file once, in the sandbox."""
    from seedvr.cli.flags import prepare_options

    options = prepare_options(args)
    if options is None:
        return None
    from seedvr.video.analysis import analyse_isolated
    from seedvr.video.decode import DecodeLimits
    from seedvr.video.prepare import plan_preparation
    from seedvr.video.prepared import PreparedSource

    analysis = analyse_isolated(args.input, info, DecodeLimits(), shots=args.shots)
    return PreparedSource(info, info, analysis, plan_preparation(analysis, options), analysis.cut_frames)


def _one_line(exc: BaseException, limit: int = 600) -> str:
    """A multi-line message (a checkpoint key diff, say) joined into one line, bounded."""
    text = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fail(args: argparse.Namespace, line: str, code: int) -> int:
    if args.verbose:
        import traceback

        traceback.print_exc()
    print(line, file=sys.stderr, flush=True)
    return code


def _interrupted(args: argparse.Namespace, guard: SigintGuard) -> int:
    if args.verbose:
        import traceback

        traceback.print_exc()
    guard.announce()
    return EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. Run as the process's command (argv None), it may leave with `os._exit` so that a
    worker thread still inside torch never races interpreter shutdown (see seedvr.cli.interrupt)."""
    cancel = threading.Event()
    own_process = argv is None
    args = argparse.Namespace(verbose=False)
    with SigintGuard(cancel, INTERRUPTED_LINE) as guard:
        try:
            args = build_parser().parse_args(argv)  # imports torch: seconds, under the guard
            summary = run(args, cancel, guard.on_force, guard.unwindable)
        except KeyboardInterrupt:
            code = _interrupted(args, guard)
            return leave(code, force=own_process) if own_process else code
        except Exception as exc:  # noqa: BLE001 - one line for the user, the traceback with --verbose
            from seedvr.video.pipeline import ClipCancelled

            if isinstance(exc, ClipCancelled) or guard.count:
                code = _interrupted(args, guard)
            elif isinstance(exc, SeedVRError):
                code = _fail(args, f"{PROG}: error [{error_class_of(exc)}]: {_one_line(exc)}", EXIT_BAD_INPUT)
            else:
                code = _fail(args, f"{PROG}: error [{error_class_of(exc)}]: unexpected {first_line(exc)} (run "
                                   "again with --verbose for the traceback)", EXIT_FAILED)
            return leave(code) if own_process else code
    if args.json:
        out = {"dry_run": True, **summary["plan"].as_dict()} if args.dry_run else summary
        print(json.dumps(out, indent=2))
    elif args.dry_run:
        print("\n".join(summary["plan"].lines()))
    if args.dry_run:
        # The plan is shown, but the run it describes would fail: say why, and exit as that run would.
        for problem in summary["plan"].problems:
            print(f"{PROG}: error [config]: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT if summary["plan"].problems else 0
    if not args.json:
        print(f"wrote {summary['output']}: {summary['frames']} frames, {summary['size'][0]}x{summary['size'][1]}, "
              f"{summary['segments']} segments, {summary['seconds']['total']:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
