"""Preparation recovers the progressive, square-pixel active picture of archive clips with known truth,
with correct frame counts and timestamps, and puts exact bars back at the output scale."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from seedvr.errors import ConfigError
from seedvr.synthetic import archive
from seedvr.video.analysis import analyse
from seedvr.video.decode import DecodeLimits, read_frames
from seedvr.video.prepare import Canvas, PrepareOptions, plan_preparation, prepare_isolated, prepare_source
from seedvr.video.probe import probe


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import peak_signal_noise_ratio

    return float(peak_signal_noise_ratio(a, b, data_range=255))


def _prepared(clip: archive.ArchiveClip, tmp_path, options: PrepareOptions = PrepareOptions()):
    src = str(archive.write_clip(clip, tmp_path))
    info = probe(src, isolate=False)
    prep = plan_preparation(analyse(src, info), options)
    out = str(tmp_path / f"{clip.name}-prepared.mkv")
    n = prepare_source(src, info, prep, out)
    pinfo = probe(out, isolate=False)
    assert pinfo.num_frames == n
    return info, prep, pinfo, read_frames(out, 0, n, pinfo)


@pytest.mark.parametrize("order, flagged", [("tff", True), ("tff", False), ("bff", True)])
def test_interlaced_is_deinterlaced_at_double_rate_in_its_field_order(order, flagged, tmp_path) -> None:
    clip = archive.interlaced(order, flagged, seed=3)
    info, prep, pinfo, frames = _prepared(clip, tmp_path)
    assert pinfo.num_frames == 2 * info.num_frames and pinfo.fps == pytest.approx(2 * info.fps, rel=1e-3)
    assert pinfo.duration_s == pytest.approx(info.duration_s, abs=0.05)
    ref = clip.reference[: len(frames)]
    # Each output frame is one field's moment: close to the progressive frame that field was taken from,
    # and closer than the combed frame it came out of.
    ok = np.mean([_psnr(f, r) for f, r in zip(frames, ref, strict=True)])
    combed = np.mean([_psnr(clip.frames[k // 2], ref[k]) for k in range(len(ref))])
    assert ok > 27 and ok > combed + 3, (ok, combed)
    assert prep.applied == (f"deinterlace (bwdif, {order}, double rate)",)


def test_same_rate_deinterlace_keeps_the_frame_count(tmp_path) -> None:
    info, prep, pinfo, _ = _prepared(archive.interlaced("tff", seed=4), tmp_path, PrepareOptions(deinterlace="same"))
    assert pinfo.num_frames == info.num_frames and prep.rate == 1


def test_telecined_film_comes_back_at_its_own_frames_and_rate(tmp_path) -> None:
    clip = archive.telecined(seed=5)
    info, prep, pinfo, frames = _prepared(clip, tmp_path)
    assert pinfo.num_frames == info.num_frames * 4 // 5
    assert pinfo.fps == pytest.approx(24000 / 1001, rel=1e-3)
    film = clip.reference[: len(frames)]
    assert min(_psnr(f, r) for f, r in zip(frames, film, strict=True)) > 30  # the film frames, not blends


@pytest.mark.parametrize("kind, bar", [("letterbox", 40), ("pillarbox", 48)])
def test_bars_are_cropped_and_put_back_exactly(kind, bar, tmp_path) -> None:
    clip = archive.boxed(kind, bar=bar, seed=6)
    info, prep, pinfo, frames = _prepared(clip, tmp_path)
    assert frames.shape[1:3] == clip.reference.shape[1:3]
    assert np.mean([_psnr(f, r) for f, r in zip(frames, clip.reference, strict=True)]) > 35
    # Restored at 2x: the bars come back at 2x, exactly black, around the restored picture.
    up = np.repeat(np.repeat(frames[0], 2, axis=0), 2, axis=1)
    full = prep.canvas.pad(up)
    assert full.shape[:2] == (2 * info.height, 2 * info.width)
    t, b, lft, r = prep.canvas.scaled_bars(up.shape[1], up.shape[0])
    assert (t, b, lft, r) == ((2 * bar, 2 * bar, 0, 0) if kind == "letterbox" else (0, 0, 2 * bar, 2 * bar))
    assert not full[:t].any() and not full[full.shape[0] - b:].any()
    assert not full[:, :lft].any() and not full[:, full.shape[1] - r:].any()
    dropped = plan_preparation(analyse(str(archive.write_clip(clip, tmp_path)), info), PrepareOptions(bars="drop"))
    assert not dropped.canvas.has_bars and dropped.canvas.picture == frames.shape[2:0:-1]


def test_anamorphic_pixels_become_square(tmp_path) -> None:
    clip = archive.anamorphic(Fraction(32, 27), seed=7)
    info, prep, pinfo, frames = _prepared(clip, tmp_path)
    assert (pinfo.width, pinfo.height) == (380, 240)
    kept = plan_preparation(analyse(str(archive.write_clip(clip, tmp_path)), info), PrepareOptions(pixels="keep"))
    assert not kept.needed


def test_progressive_square_full_frame_needs_nothing(tmp_path) -> None:
    clip = archive.progressive(frames=12, seed=8)
    src = str(archive.write_clip(clip, tmp_path))
    prep = plan_preparation(analyse(src, probe(src, isolate=False)))
    assert not prep.needed and prep.rate == 1 and not prep.canvas.has_bars


def test_isolated_preparation_writes_the_same_mezzanine(tmp_path) -> None:
    clip = archive.interlaced("tff", seed=9, frames=20)
    src = str(archive.write_clip(clip, tmp_path))
    info = probe(src, isolate=False)
    prep = plan_preparation(analyse(src, info))
    a, b = str(tmp_path / "a.mkv"), str(tmp_path / "b.mkv")
    assert prepare_source(src, info, prep, a) == prepare_isolated(src, info, prep, b, DecodeLimits()) == 40
    pa, pb = probe(a, isolate=False), probe(b, isolate=False)
    assert np.array_equal(read_frames(a, 0, 40, pa), read_frames(b, 0, 40, pb))


def test_bad_options_are_one_line_config_errors() -> None:
    with pytest.raises(ConfigError, match="prepare.deinterlace 'triple' is not one of double, same, off"):
        PrepareOptions(deinterlace="triple")


def test_canvas_scales_bars_with_the_picture() -> None:
    c = Canvas((320, 160), (40, 40, 0, 0))
    assert c.scaled_bars(480, 240) == (60, 60, 0, 0)
    # 3.125x: the full frame is 750 lines, the 250 lines of bars split evenly (125 each side).
    t, b, _, _ = c.scaled_bars(1000, 500)
    assert t + 500 + b == 750 and abs(t - b) <= 2
    assert Canvas((320, 200), (40, 0, 0, 0)).scaled_bars(640, 400) == (80, 0, 0, 0)
