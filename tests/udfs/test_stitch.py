"""The stitcher's scores are `seedvr.quality.video.score_video` of the file it wrote (never a mean of the
segments' scores), and a scoring failure keeps the committed output with the reason."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from seedvr.quality.video import score_video
from seedvr.video.decode import read_frames
from seedvr.video.probe import probe
from udfs import segment_io
from udfs.stitch import StitchSettings, StitchVideos

FRAMES = 12


@pytest.fixture()
def batch(make_video, tmp_path):
    src = probe(make_video("stitched", frames=FRAMES, size=(32, 48), seed=4), isolate=False)
    frames = read_frames(src.url, 0, FRAMES, src)
    brighter = np.clip(frames.astype(np.int16) + 9, 0, 255).astype(np.uint8)  # not a copy of the input
    info = src.to_dict()
    segments = []
    for i, (w, a, b) in enumerate([(0, 0, 5), (4, 6, FRAMES - 1)]):  # two segments, one frame of context
        url = segment_io.intermediate_url(str(tmp_path), "cfg", "v", "1", i)
        sha = segment_io.write_segment(url, brighter[w:b + 1], info)
        # Segment scores that are not the video's: the stitcher must not average them.
        segments.append({"segment_index": i, "window_start": w, "first_output": a, "last_output": b,
                         "intermediate_uri": url, "intermediate_sha256": sha, "scores": {"lr_psnr_mean": 99.0}})
    row = {"video_id": "v", "uri": src.url, "content_class": "archive", "file_version": "1",
           "info_json": json.dumps(info), "segments_json": json.dumps(segments), "restore_s": 1.0}
    return src, StitchSettings(preset="identity", config_hash="cfg", output_root=str(tmp_path)), pd.DataFrame([row])


def test_a_videos_scores_are_those_of_its_files(batch) -> None:
    src, settings, rows = batch
    (out,) = StitchVideos(settings).process(rows).to_dict(orient="records")
    assert out["status"] == "ok" and not isinstance(out["error_message"], str)
    expected = score_video(src, out["output_uri"], isolate=False)
    scores = dict(out["scores"])
    assert {k: v for k, v in scores.items() if not k.startswith("seam_")} == pytest.approx(expected, abs=1e-9)
    assert 20 < scores["lr_psnr_mean"] < 40 and "seam_max" in scores  # 9 levels brighter; one join measured


def test_a_scoring_failure_keeps_the_output_and_says_why(batch, monkeypatch) -> None:
    from seedvr.quality import video

    def broken(*_a, **_k):
        raise OSError("source went away")

    monkeypatch.setattr(video, "score_video", broken)
    src, settings, rows = batch
    (out,) = StitchVideos(settings).process(rows).to_dict(orient="records")
    assert out["status"] == "ok" and out["output_sha256"] and not out["scores"]
    assert out["error_message"].startswith("scores: OSError: source went away")
