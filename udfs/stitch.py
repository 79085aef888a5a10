"""Stitch restored segments into one file per video: `df.mapInPandas(StitchVideos(...), RESTORATION_UDF_OUT)`.

Runs on executors over metadata rows (one per video: the segment list as JSON); seedvr.video.stitch_video
streams the intermediates in order, so no task holds a whole video in memory, writes the final file
atomically at a deterministic key and returns its scores. A failed stitch is a failed row.

A video's scores are `seedvr.quality.video.score_video` of the written file against the source (the one
definition the summary, MLflow and the results notebook show); the segments' own scores stay in the
segments table and are never averaged into them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from udfs import progress, segment_io
from udfs.schemas import RESTORATION_UDF_OUT
from udfs.stage import BatchStage, failure_columns

if TYPE_CHECKING:
    from seedvr.provenance.signing import SigningRefs
    from seedvr.video.decode import DecodeLimits

INPUT_COLUMNS = ("video_id", "uri", "content_class", "file_version", "info_json", "segments_json", "restore_s")


@dataclass(frozen=True)
class StitchSettings:
    preset: str
    config_hash: str
    output_root: str
    encode: Mapping[str, Any] = field(default_factory=dict)
    score: bool = True
    # Bounds on decoding the (untrusted) source for the scores; None: seedvr.video.decode's defaults.
    decode: DecodeLimits | None = None
    # Stitch tasks side by side in one executor process: the encoder's threads are this share of its cores.
    concurrent_tasks: int = 1
    # Signed provenance: where the credential is (None: disclosure disabled), and the run's facts that every
    # file states (seedvr.provenance.facts.RestorationFacts fields other than the per-video ones).
    signing: SigningRefs | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)


def _stitch(info: dict[str, Any], segments: list[dict[str, Any]], out_url: str,
            encode: Mapping[str, Any], *, score_seams: bool, source_info: dict[str, Any] | None = None,
            canvas: Any = None, sealer: Any = None) -> dict[str, Any]:
    """Stream the segments through seedvr.video.stitch_video; returns sha256, size, frames and the seam
    scores measured on the blended frames as they pass (the output is never decoded again)."""
    from seedvr.quality.seam_tap import SeamTap
    from seedvr.video.encode import EncodeSettings
    from seedvr.video.info import VideoInfo
    from seedvr.video.plan import Segment
    from seedvr.video.stitch import stitch_video

    segs = [Segment(int(s["segment_index"]), int(s["window_start"]), int(s["first_output"]),
                    int(s["last_output"])) for s in segments]
    enc = {k: v for k, v in dict(encode).items() if v is not None}
    video = VideoInfo.from_dict(info)
    # A join is where two segments overlap; a segment that starts a shot (no context) meets its
    # predecessor at a cut, where the picture is meant to change: no seam to score there.
    joins = [seg.first_output for seg in segs[1:] if seg.window_start < seg.first_output]  # see shot_starts
    tap = SeamTap(joins, video.num_frames) if score_seams else None
    carrier = VideoInfo.from_dict(source_info) if source_info and source_info != info else None
    res = stitch_video(video, segs, [s["intermediate_uri"] for s in segments], out_url,
                       finish=canvas.pad if canvas is not None and canvas.has_bars else None,
                       streams_from=carrier,
                       settings=EncodeSettings(**enc),
                       checksums=[s.get("intermediate_sha256") for s in segments], observe=tap,
                       tags=sealer.tags if sealer is not None else None, seal=sealer)
    return {"sha256": res.sha256, "num_frames": res.num_frames, "width": res.width, "height": res.height,
            "seams": tap.scores if tap else {}, "sealed": res.sealed}


def _encode_with_threads(s: StitchSettings) -> dict[str, Any]:
    """The encode settings with the thread budget's encoder threads, unless the config pins them."""
    from seedvr.threads import plan_threads

    enc = dict(s.encode)
    if not enc.get("threads"):
        enc["threads"] = plan_threads(tasks=s.concurrent_tasks).encode
    return enc


def _canvas(canvas_json: Any) -> Any:
    if not isinstance(canvas_json, str) or not canvas_json:
        return None
    from seedvr.video.prepared import canvas_of

    return canvas_of(json.loads(canvas_json))


def shot_starts(segments: list[dict[str, Any]]) -> list[int]:
    """First frames of the shots after the first: segments planned without context start a shot."""
    return [int(s["first_output"]) for s in segments[1:] if int(s["window_start"]) == int(s["first_output"])]


def video_scores(info: dict[str, Any], out_url: str, seams: Mapping[int, float],
                 limits: DecodeLimits | None, cuts: list[int] | None = None, canvas: Any = None) -> dict[str, float]:
    """The video's scores from the written file and its source (decoded in the sandbox: it is untrusted),
    with the seam scores the stitch measured on the blended frames; no temporal score across `cuts`. A
    prepared video is compared with its mezzanine, its bars put back (`canvas`)."""
    from seedvr.quality.video import score_video
    from seedvr.video.info import VideoInfo

    finish = canvas.pad if canvas is not None and canvas.has_bars else None
    return score_video(VideoInfo.from_dict(info), out_url, seams, limits=limits, isolate=True, cuts=cuts or (),
                       source_frame=finish)


def _sealer(s: StitchSettings, r: Any, out_url: str, source_url: str) -> Any:
    """The video's Sealer (seedvr.provenance.seal), or None when disclosure is disabled."""
    if s.signing is None:
        return None
    from seedvr.provenance.facts import RestorationFacts, Source, transforms_from_applied
    from seedvr.provenance.seal import Sealer

    applied = json.loads(r.applied_json) if isinstance(getattr(r, "applied_json", None), str) else []
    size = getattr(r, "size_bytes", None)
    source = Source(uri=source_url, size_bytes=int(size) if size is not None and size == size else None,
                    file_version=str(r.file_version))
    facts = RestorationFacts(**{**dict(s.facts), "weights_sha256": getattr(r, "weights_sha256", None) or None},
                             config_hash=s.config_hash, title=out_url.rsplit("/", 1)[-1], source=source,
                             video_id=str(r.video_id), transforms=transforms_from_applied(applied))
    limits = s.decode
    return Sealer.for_source(facts, s.signing.credential(), timeout_s=limits.timeout_s if limits else 120.0,
                             max_memory_mb=limits.memory_mb if limits else 2048)


def _disclosure_columns(sealed: Any) -> dict[str, Any]:
    if sealed is None:
        return {"disclosed": False, "disclosure": "disabled"}
    return {"disclosed": True, "disclosure": "embedded" if sealed.embedded else "sidecar",
            "manifest_label": sealed.label, "manifest_sha256": sealed.manifest_sha256,
            "disclosure_signer": sealed.signer, "sign_s": sealed.seconds}


class StitchVideos(BatchStage):
    output_schema = RESTORATION_UDF_OUT

    def __init__(self, settings: StitchSettings) -> None:
        self.settings = settings

    def rows(self, batch: pd.DataFrame) -> list[dict[str, Any]]:
        s = self.settings
        if s.score:
            from seedvr.threads import apply_opencv_threads, plan_threads

            apply_opencv_threads(plan_threads(tasks=s.concurrent_tasks).opencv)
        rows = []
        for r in batch.itertuples(index=False):
            t0 = time.perf_counter()
            segments = sorted(json.loads(r.segments_json), key=lambda d: int(d["segment_index"]))
            row: dict[str, Any] = {
                "video_id": r.video_id, "preset": s.preset, "config_hash": s.config_hash,
                "file_version": r.file_version, "uri": r.uri, "content_class": r.content_class,
                "num_segments": len(segments), "segments_ok": len(segments), "segments_failed": 0,
                "restore_s": float(r.restore_s or 0.0), "scores": {},
            }
            try:
                info = json.loads(r.info_json)
                source_info = json.loads(r.source_info_json) if isinstance(getattr(r, "source_info_json", None),
                                                                           str) else None
                canvas = _canvas(getattr(r, "canvas_json", None))
                out_url = segment_io.output_url(s.output_root, s.config_hash, str(r.video_id), str(r.file_version))
                sealer = _sealer(s, r, out_url, str(r.uri))
                res = _stitch(info, segments, out_url, _encode_with_threads(s), score_seams=s.score,
                              source_info=source_info, canvas=canvas, sealer=sealer)
                row.update(
                    status="ok", output_uri=out_url, output_sha256=res.get("sha256"),
                    num_frames=res.get("num_frames"),
                    out_width=res.get("width"), out_height=res.get("height"),
                    **_disclosure_columns(res.get("sealed")),
                )
                if s.score:
                    try:
                        row["scores"] = video_scores(info, out_url, res["seams"], s.decode, shot_starts(segments),
                                                     canvas)
                    except Exception as exc:  # noqa: BLE001 - the output is committed; only its scores are lost
                        row.update(failure_columns(exc, "scores: "))
            except Exception as exc:  # noqa: BLE001 - one bad video must not fail the others
                row.update(status="failed", **failure_columns(exc, "stitch: "))
            row["stitch_s"] = time.perf_counter() - t0
            rows.append(row)
            progress.tick("videos")
        return rows
