"""The demo catalog: a few short degraded clips (with ground truth where one exists) written as MP4 files."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seedvr.errors import InputError
from seedvr.synthetic.aigen import make_ai_clip
from seedvr.synthetic.degrade import DEGRADATIONS, DegradationSpec, degrade
from seedvr.synthetic.motion import make_clip
from seedvr.synthetic.mp4 import write_mp4
from seedvr.synthetic.sources import STILLS, stills_available


@dataclass(frozen=True)
class SampleSpec:
    """One catalog entry: what is filmed, how the camera moves and how the result is degraded."""

    name: str
    source: str
    motion: str
    degradation: str
    content_class: str = "archive"


# Cycled when more clips are asked for; every fourth is the generated-looking scene (no ground truth).
SAMPLES: tuple[SampleSpec, ...] = (
    SampleSpec("astronaut-pan", "astronaut", "pan", "heavy"),
    SampleSpec("coffee-zoom", "coffee", "zoom", "light"),
    SampleSpec("chelsea-handheld", "chelsea", "handheld", "vhs"),
    SampleSpec("dream-shimmer", "ai", "none", "ai", content_class="ai_generated"),
    SampleSpec("rocket-rotate", "rocket", "rotate", "heavy"),
    SampleSpec("retina-pan", "retina", "pan", "light"),
)

_PROCEDURAL = {name: f"procedural:{i}" for i, name in enumerate(STILLS)}
AI_DEGRADATION = DegradationSpec(h264_crf=30)


def make_sample_catalog(
    out_dir: str | os.PathLike[str],
    *,
    clips: int = 4,
    frames: int = 25,
    size: tuple[int, int] = (96, 160),
    fps: int = 25,
    seed: int = 0,
    audio: bool = True,
) -> list[dict[str, Any]]:
    """Write `clips` low-quality MP4s (and their ground truths) under `out_dir`; returns one row per clip.

    `size` is the (H, W) of the low-quality clip; ground truths are twice that, so a x2 restorer maps one
    onto the other. Rows carry `path`, `video_id`, `content_class`, `hq_path` (None without a ground
    truth), `source`, `licence`, `degradation`, `frames`, `width`, `height`, `fps`, `has_audio`, `seed`.
    A `catalog.json` with the same rows is written next to the clips. Same arguments, same bytes.
    """
    if clips < 1:
        raise InputError(f"clips must be >= 1, got {clips}")
    h, w = size
    if h % 2 or w % 2 or h < 16 or w < 16:
        raise InputError(f"size (H, W) must be even and at least 16x16, got {size}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    use_stills = stills_available()
    rows: list[dict[str, Any]] = []
    for i in range(clips):
        sample = SAMPLES[i % len(SAMPLES)]
        clip_seed = seed * 1000 + i
        vid = f"sample-{i:02d}-{sample.name}"
        if sample.content_class == "ai_generated":
            lq = degrade(make_ai_clip(frames, (h, w), seed=clip_seed), AI_DEGRADATION, seed=clip_seed)
            hq_path, spec, source, licence = None, AI_DEGRADATION, "generated", "CC0 (procedural)"
        else:
            source = sample.source if use_stills else _PROCEDURAL[sample.source]
            licence = STILLS[sample.source].licence if use_stills else "CC0 (procedural)"
            spec = DEGRADATIONS[sample.degradation]
            hq = make_clip(source, frames, (h * spec.downscale, w * spec.downscale), sample.motion, seed=clip_seed)
            lq = degrade(hq, spec, seed=clip_seed)
            hq_path = str(write_mp4(hq, out / "hq" / f"{vid}.mp4", fps, crf=12, audio=audio))
        path = write_mp4(lq, out / "lq" / f"{vid}.mp4", fps, crf=16, audio=audio)
        rows.append(
            {
                "path": str(path),
                "video_id": vid,
                "content_class": sample.content_class,
                "hq_path": hq_path,
                "source": source,
                "licence": licence,
                "degradation": json.dumps(spec.to_dict(), sort_keys=True),
                "frames": int(lq.shape[0]),
                "width": int(lq.shape[2]),
                "height": int(lq.shape[1]),
                "fps": fps,
                "has_audio": audio,
                "seed": clip_seed,
            }
        )
    (out / "catalog.json").write_text(json.dumps(rows, indent=2))
    return rows
