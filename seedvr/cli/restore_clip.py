"""`seedvr-clip`: restore one video file or URL without Spark.

    seedvr-clip in.mp4 out.mp4                          # identity preset: a dry run of the video path
    seedvr-clip s3://b/in.mov out.mkv --preset seedvr2-3b --weights /models/seedvr2 --short-side 720

Exit status: 0 on success, 2 for bad input or configuration (the message names the cause and the fix),
1 for unexpected failures.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from seedvr.errors import SeedVRError, error_class_of

EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seedvr-clip", description="Restore one video with SeedVR (no Spark).")
    p.add_argument("input", help="input video: a path or any fsspec URL (s3://, dbfs:/Volumes/...)")
    p.add_argument("output", help="output video (.mp4, .mov, .mkv); written atomically")
    m = p.add_argument_group("model")
    m.add_argument("--preset", default="identity", help="model preset (default: identity, no model)")
    m.add_argument("--weights", default=None, help="weights folder or file (local or URL)")
    m.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    m.add_argument("--scale", type=int, default=1, help="integer upscale of the identity preset")
    m.add_argument("--seed", type=int, default=42, help="run-level seed (per-segment seeds derive from it)")
    t = p.add_argument_group("output size (pick one; default: the restorer's)")
    size = t.add_mutually_exclusive_group()
    size.add_argument("--short-side", type=int, default=None, help="shorter side of the output in pixels")
    size.add_argument("--area", type=int, default=None, help="output pixel area, e.g. 921600 for 1280x720")
    size.add_argument("--target-scale", type=float, default=None, help="scale factor of the output")
    s = p.add_argument_group("segments")
    s.add_argument("--segment-frames", type=int, default=33, help="frames per restorer call (4n+1)")
    s.add_argument("--context-frames", type=int, default=8, help="overlap with the previous segment")
    s.add_argument("--blend", default="hann", choices=("hann", "linear", "none"), help="cross-fade ramp")
    s.add_argument("--work-dir", default=None, help="where segment intermediates go (default: a temp dir)")
    s.add_argument("--keep-segments", action="store_true", help="keep the intermediates after stitching")
    s.add_argument("--intermediate", default="auto", choices=("auto", "rawvideo", "utvideo", "ffv1"),
                   help="lossless codec of the segment files (auto: rawvideo on local disk, utvideo on "
                        "object stores; ffv1: smallest, slowest)")
    e = p.add_argument_group("encoder")
    e.add_argument("--codec", default="libx264", choices=("libx264", "libx265", "libsvtav1", "ffv1"))
    e.add_argument("--crf", type=int, default=18)
    e.add_argument("--encoder-preset", default="medium", help="x264/x265 preset name or SVT-AV1 number")
    e.add_argument("--lossless", action="store_true", help="FFV1 RGB in MKV (exact; large files)")
    bits = e.add_mutually_exclusive_group()
    bits.add_argument("--ten-bit", dest="ten_bit", action="store_const", const=True, default=None,
                      help="force 10-bit output (default: 10-bit for >8-bit or HDR sources)")
    bits.add_argument("--eight-bit", dest="ten_bit", action="store_const", const=False, help="force 8-bit output")
    o = p.add_argument_group("probing and output")
    o.add_argument("--probe-timeout", type=float, default=120.0, help="seconds allowed for probing")
    o.add_argument("--quiet", action="store_true", help="no progress bar")
    o.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    return p


def _target(args: argparse.Namespace) -> Any:
    from seedvr.restorer import TargetSize

    if args.short_side is not None:
        return TargetSize.by_short_side(args.short_side, multiple=1)
    if args.area is not None:
        return TargetSize.by_area(args.area, multiple=1)
    if args.target_scale is not None:
        return TargetSize.by_scale(args.target_scale, multiple=1)
    return None


def _restorer(args: argparse.Namespace) -> Any:
    from seedvr.restorer import IdentityRestorer

    if args.preset == "identity":
        return IdentityRestorer(scale=args.scale)
    from seedvr.restorer import ClipRestorer

    return ClipRestorer.from_preset(args.preset, args.weights, device=args.device)


def _progress(quiet: bool):  # noqa: ANN202 - (callback, close) pair
    if quiet:
        return None, lambda: None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # stderr, so that `--json` output on stdout stays machine-readable
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=Console(stderr=True), transient=False)
    bar.start()
    tasks: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(f"{stage:8s}", total=total)
        bar.update(tasks[stage], completed=done, total=total)

    return update, bar.stop


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Do the work for parsed arguments; returns the JSON-safe summary."""
    from seedvr.video.encode import EncodeSettings, container_format
    from seedvr.video.pipeline import ClipJob, restore_clip
    from seedvr.video.plan import validate_plan_params
    from seedvr.video.probe import probe

    validate_plan_params(1, args.segment_frames, args.context_frames)  # fail before loading anything
    settings = EncodeSettings.lossless() if args.lossless else EncodeSettings(
        codec=args.codec, crf=args.crf, preset=args.encoder_preset, ten_bit=args.ten_bit)
    job = ClipJob(segment_frames=args.segment_frames, context_frames=args.context_frames, blend=args.blend,
                  seed=args.seed, target=_target(args), settings=settings,
                  intermediate_codec=args.intermediate)
    container_format(args.output, settings)
    info = probe(args.input, timeout_s=args.probe_timeout)
    restorer = _restorer(args)
    update, close = _progress(args.quiet)
    try:
        result = restore_clip(args.input, args.output, restorer, job=job, info=info, work_dir=args.work_dir,
                              keep_segments=args.keep_segments, progress=update)
    finally:
        close()
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
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        summary = run(args)
    except SeedVRError as exc:
        print(f"seedvr-clip: error [{error_class_of(exc)}]: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("seedvr-clip: interrupted; no output was written", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {summary['output']}: {summary['frames']} frames, {summary['size'][0]}x{summary['size'][1]}, "
              f"{summary['segments']} segments, {summary['seconds']['total']:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
