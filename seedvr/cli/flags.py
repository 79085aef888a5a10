"""The model, output-size and segment flags `seedvr-clip` and the job's commands share.

One function adds them, with the help texts and defaults of seedvr.defaults, so both commands speak the
same vocabulary. The job adds them without defaults (`from_profile=True`): a flag left out keeps the
profile's value, and an empty value (an unset Databricks job parameter) counts as left out.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from seedvr import defaults
from seedvr.checkpoints.presets import PRESETS

SIZE_TITLE = f"output size (pick one; default: --resolution {defaults.RESOLUTION})"

HELP: dict[str, str] = {
    "preset": f"model preset: {', '.join(PRESETS)} (default: {defaults.PRESET}); tiny-v2 runs seeded "
              "random weights (a smoke test, no download), identity runs no model",
    "weights": "checkpoint file or folder, local or any fsspec URL (required by the released presets)",
    "dtype": "auto (bfloat16 on GPUs, float32 on CPU; the default), bfloat16, float16 or float32",
    "attention": f"DiT attention backend: {', '.join(defaults.ATTENTIONS)} (default: {defaults.ATTENTION}, "
                 "flash-attn when it runs, else SDPA)",
    "vae_tile": "VAE tile edge in px (a multiple of 8 >= 64, e.g. 512), or auto: untiled, smaller tiles on "
                "out-of-memory (default)",
    "compile": f"torch.compile of the DiT and VAE blocks: {', '.join(defaults.COMPILES)} (default: "
               f"{defaults.COMPILE}: on with CUDA, the first clip pays the compilation; off on CPU)",
    "fp8": f"float8 checkpoints: {', '.join(defaults.FP8_MODES)} (default: {defaults.FP8}; on_the_fly keeps "
           "the DiT's Linear weights in fp8, half the memory of bf16, dequantised at each call)",
    "color_fix": f"colour correction against the input: {', '.join(defaults.COLOR_FIXES)} "
                 f"(default: {defaults.COLOR_FIX})",
    "seed": f"run-level seed; each segment derives its own (default: {defaults.SEED})",
    "device": "torch device: cpu, cuda or cuda:N (default: the GPU when there is one, else the CPU)",
    "resolution": defaults.RESOLUTION_HELP + f" (default: {defaults.RESOLUTION})",
    "short_side": "shorter side of the output in pixels, e.g. 1080",
    "scale": "scale factor of both sides (1: the input size, odd sizes kept)",
    "segment_frames": f"input frames per restorer call, 4n+1 (default: {defaults.SEGMENT_FRAMES})",
    "context_frames": f"overlap with the previous segment, cross-faded (default: {defaults.CONTEXT_FRAMES})",
}


def _text_or_none(text: str) -> str | None:
    """A flag's text, None when empty."""
    return text.strip() or None


def add_model_flags(p: argparse.ArgumentParser, *, from_profile: bool = False) -> dict[str, Any]:
    """Add the "model", output-size and "segments" groups to `p`; returns them by name.

    `from_profile`: every default is None (the job's profile decides), empty values are ignored, and
    values stay text, to be converted and checked by the caller with one-line errors (the job's
    `config_from_args`) rather than by argparse's usage message.
    """

    def d(value: Any) -> Any:
        return None if from_profile else value

    def t(kind: Callable[[str], Any]) -> Callable[[str], Any]:
        return _text_or_none if from_profile else kind

    def choices(values: tuple[str, ...]) -> dict[str, Any]:
        return {} if from_profile else {"choices": values}

    m = p.add_argument_group("model")
    m.add_argument("--preset", type=t(str), default=d(defaults.PRESET), help=HELP["preset"])
    m.add_argument("--weights", type=t(str), default=None, help=HELP["weights"])
    m.add_argument("--dtype", type=t(str), default=d("auto"), help=HELP["dtype"])
    m.add_argument("--attention", type=t(str), default=d(defaults.ATTENTION),
                   help=HELP["attention"], **choices(defaults.ATTENTIONS))
    m.add_argument("--vae-tile", type=t(str), default=d("auto"), help=HELP["vae_tile"])
    m.add_argument("--color-fix", type=t(str), default=d(defaults.COLOR_FIX),
                   help=HELP["color_fix"], **choices(defaults.COLOR_FIXES))
    m.add_argument("--compile", type=t(str), default=d(defaults.COMPILE), help=HELP["compile"],
                   **choices(defaults.COMPILES))
    m.add_argument("--fp8", type=t(str), default=d(defaults.FP8), help=HELP["fp8"],
                   **choices(defaults.FP8_MODES))
    m.add_argument("--seed", type=t(int), default=d(defaults.SEED), help=HELP["seed"])
    m.add_argument("--device", type=t(str), default=defaults.DEVICE, help=HELP["device"])
    # Not an argparse mutually exclusive group: seedvr.defaults.target_spec refuses two of them in one
    # line, and a blank job parameter next to a real one is no conflict.
    size = p.add_argument_group(SIZE_TITLE)
    size.add_argument("--resolution", type=t(str), default=None, help=HELP["resolution"])
    size.add_argument("--short-side", type=t(int), default=None, help=HELP["short_side"])
    size.add_argument("--scale", type=t(float), default=None, help=HELP["scale"])
    s = p.add_argument_group("segments")
    s.add_argument("--segment-frames", type=t(int), default=d(defaults.SEGMENT_FRAMES),
                   help=HELP["segment_frames"])
    s.add_argument("--context-frames", type=t(int), default=d(defaults.CONTEXT_FRAMES),
                   help=HELP["context_frames"])
    return {"model": m, "size": size, "segments": s}


ARCHIVE_HELP: dict[str, str] = {
    "archive": "auto (default): analyse the file (shots, scan type, bars, pixel shape) and restore its "
               "progressive, square-pixel active picture; off: restore the frames as stored",
    "deinterlace": "interlaced sources: double (one frame per field, 50i -> 50p; the default), same (one "
                   "frame per frame) or off",
    "telecine": "telecined film: invert (fieldmatch + decimate back to 23.976; the default) or keep",
    "bars": "letterbox/pillarbox bars: restore (restore the picture only, put exact black bars back; the "
            "default), drop (output the picture without them) or keep (restore them as picture)",
    "pixels": "non-square pixels (DV, DVD): square (restore and output square pixels; the default) or keep",
    "shots": "shot cut detector: auto (TransNetV2 when the shots extra is installed, else FFmpeg scdet; the "
             "default), transnetv2 or scdet",
}


def add_archive_flags(p: argparse.ArgumentParser, *, from_profile: bool = False) -> argparse._ArgumentGroup:
    """How archive footage is prepared before restoration (seedvr.video.prepare)."""
    g = p.add_argument_group("archive footage")

    def default(value: str) -> str | None:
        return None if from_profile else value

    g.add_argument("--archive", choices=("auto", "off"), default=default("auto"), help=ARCHIVE_HELP["archive"])
    g.add_argument("--deinterlace", choices=("double", "same", "off"), default=default("double"),
                   help=ARCHIVE_HELP["deinterlace"])
    g.add_argument("--telecine", choices=("invert", "keep"), default=default("invert"), help=ARCHIVE_HELP["telecine"])
    g.add_argument("--bars", choices=("restore", "drop", "keep"), default=default("restore"), help=ARCHIVE_HELP["bars"])
    g.add_argument("--pixels", choices=("square", "keep"), default=default("square"), help=ARCHIVE_HELP["pixels"])
    if not from_profile:  # the job sets it at ingest (ingest.shots), where the analysis runs
        g.add_argument("--shots", choices=("auto", "transnetv2", "scdet"), default="auto", help=ARCHIVE_HELP["shots"])
    return g


def prepare_options(args: argparse.Namespace) -> Any:
    """`PrepareOptions` from the archive flags, or None for `--archive off`."""
    from seedvr.video.prepare import PrepareOptions

    if getattr(args, "archive", "auto") == "off":
        return None
    return PrepareOptions(deinterlace=args.deinterlace, inverse_telecine=args.telecine == "invert",
                          bars=args.bars, pixels=args.pixels)
