import json

import av
import numpy as np
import pytest

from seedvr.errors import ConfigError, InputError
from seedvr.synthetic import (
    CameraMotion,
    DegradationSpec,
    degrade,
    load_source,
    make_ai_clip,
    make_clip,
    make_sample_catalog,
    procedural_texture,
    write_mp4,
)


@pytest.mark.parametrize("source", ["astronaut", "procedural:3"])
def test_make_clip_is_seeded_and_moves(source):
    a = make_clip(source, 9, (48, 64), "pan", seed=1)
    b = make_clip(source, 9, (48, 64), "pan", seed=1)
    c = make_clip(source, 9, (48, 64), "pan", seed=2)
    assert a.shape == (9, 48, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    # The camera moves: consecutive frames differ, but only a little (sub-pixel to ~2 px steps).
    diffs = [np.abs(a[t + 1].astype(int) - a[t]).mean() for t in range(8)]
    assert all(d > 0.1 for d in diffs)


def test_static_motion_gives_identical_frames():
    clip = make_clip("procedural:1", 4, (32, 32), CameraMotion(), seed=0)
    assert all(np.array_equal(clip[0], f) for f in clip)


def test_pan_shifts_content_by_the_requested_step():
    img = procedural_texture(256, 256, 5)
    clip = make_clip(img, 2, (64, 64), CameraMotion(pan_x=3.0), seed=0)
    # The jitter is within +-20 %, so the best integer shift is 2..4 px.
    errs = {s: np.abs(clip[1][:, : 64 - s].astype(int) - clip[0][:, s:]).mean() for s in range(0, 7)}
    assert 2 <= min(errs, key=errs.get) <= 4


def test_bad_arguments_name_the_value():
    with pytest.raises(ConfigError, match="unknown source"):
        load_source("nope")
    with pytest.raises(ConfigError, match="unknown motion"):
        make_clip("procedural:0", 2, (16, 16), "wobble")
    with pytest.raises(ConfigError, match="noise_sigma"):
        DegradationSpec(noise_sigma=-1)
    with pytest.raises(InputError, match="even"):
        degrade(np.zeros((2, 15, 16, 3), np.uint8), DegradationSpec(h264_crf=30), seed=0)


def _clean():
    return make_clip("procedural:2", 6, (64, 96), "pan", seed=0)


def test_degradations_change_the_clip_as_specified():
    clean = _clean()
    small = degrade(clean, DegradationSpec(downscale=2), seed=0)
    assert small.shape == (6, 32, 48, 3)
    blurred = degrade(clean, DegradationSpec(blur_sigma=1.5), seed=0)
    lap = lambda x: np.abs(np.diff(x.astype(float), axis=2)).mean()  # noqa: E731
    assert lap(blurred) < 0.7 * lap(clean)
    noisy = degrade(clean, DegradationSpec(noise_sigma=10), seed=0)
    assert 8 < (noisy.astype(float) - clean).std() < 12
    fixed = degrade(clean * 0 + 128, DegradationSpec(noise_sigma=10, noise_fixed=True), seed=0)
    assert np.array_equal(fixed[0], fixed[-1])
    compressed = degrade(clean, DegradationSpec(h264_bitrate=20_000), seed=0)
    assert compressed.shape == clean.shape and 0 < np.abs(compressed.astype(int) - clean).mean() < 40


def test_degrade_is_seeded():
    clean = _clean()
    spec = DegradationSpec(blur_sigma=1.0, downscale=2, noise_sigma=5, jpeg_quality=50, h264_crf=30)
    assert np.array_equal(degrade(clean, spec, seed=3), degrade(clean, spec, seed=3))
    assert not np.array_equal(degrade(clean, spec, seed=3), degrade(clean, spec, seed=4))


def test_ai_clip_shimmers():
    clip = make_ai_clip(6, (48, 64), seed=0)
    assert clip.shape == (6, 48, 64, 3)
    assert np.array_equal(clip, make_ai_clip(6, (48, 64), seed=0))
    calm = make_ai_clip(6, (48, 64), seed=0, shimmer=0.0)
    flicker = lambda x: np.abs(np.diff(x.astype(float), axis=0)).mean()  # noqa: E731
    assert flicker(clip) > flicker(calm)


def test_write_mp4_round_trip_with_audio(tmp_path):
    clip = _clean()
    path = write_mp4(clip, tmp_path / "a.mp4", 25, crf=0, audio=True)
    with av.open(str(path)) as c:
        kinds = sorted(s.type for s in c.streams)
        v = c.streams.video[0]
        assert v.codec_context.colorspace == 1  # BT.709 tagged
        frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
    assert kinds == ["audio", "video"]
    assert frames.shape == clip.shape
    # Lossless x264: only the yuv420 conversion remains, which keeps luma and halves chroma resolution.
    luma = lambda x: x.astype(float) @ [0.2126, 0.7152, 0.0722]  # noqa: E731
    assert np.abs(luma(frames) - luma(clip)).mean() < 1.5


def test_sample_catalog(tmp_path):
    rows = make_sample_catalog(tmp_path, clips=4, frames=5, size=(32, 48))
    assert [r["content_class"] for r in rows].count("ai_generated") == 1
    assert len({r["video_id"] for r in rows}) == 4
    for r in rows:
        with av.open(r["path"]) as c:
            v = c.streams.video[0]
            assert (v.codec_context.width, v.codec_context.height) == (48, 32)
            assert sum(1 for _ in c.decode(video=0)) == 5
        if r["hq_path"]:
            with av.open(r["hq_path"]) as c:
                assert c.streams.video[0].codec_context.width == 96
        json.loads(r["degradation"])
    assert json.loads((tmp_path / "catalog.json").read_text()) == rows


def test_sample_catalog_bytes_are_reproducible(tmp_path):
    # Repeated libx264 encodes in one process differ unless MB-tree is off: the catalog must not.
    a = make_sample_catalog(tmp_path / "a", clips=4, frames=5, size=(32, 48))
    b = make_sample_catalog(tmp_path / "b", clips=4, frames=5, size=(32, 48))
    for ra, rb in zip(a, b, strict=True):
        for key in ("path", "hq_path"):
            if ra[key]:
                assert open(ra[key], "rb").read() == open(rb[key], "rb").read()


def test_rewriting_identical_clips_keeps_the_files(tmp_path):
    import os

    rows = make_sample_catalog(tmp_path, clips=2, frames=5, size=(32, 48))
    for r in rows:
        os.utime(r["path"], (1_000_000, 1_000_000))
    make_sample_catalog(tmp_path, clips=2, frames=5, size=(32, 48))
    assert all(os.stat(r["path"]).st_mtime == 1_000_000 for r in rows)
    make_sample_catalog(tmp_path, clips=2, frames=6, size=(32, 48))  # different clips: rewritten
    assert all(os.stat(r["path"]).st_mtime != 1_000_000 for r in rows)
