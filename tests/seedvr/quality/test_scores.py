import numpy as np
import pytest

from seedvr.errors import InputError
from seedvr.quality import (
    PSNR_CAP_DB,
    FrameSampler,
    ScoreConfig,
    blockiness,
    lr_delta_e,
    lr_psnr,
    noise_sigma,
    psnr,
    score_clip,
    sharpness,
    ssim,
)
from seedvr.synthetic import DegradationSpec, degrade, make_clip


@pytest.fixture(scope="module")
def clean():
    return make_clip("procedural:4", 9, (64, 96), "pan", seed=0)


def _mean(fn, clip, *other):
    return float(np.mean([fn(*(c[t] for c in (clip, *other))) for t in range(len(clip))]))


def test_identical_frames_score_perfectly(clean):
    assert psnr(clean[0], clean[0]) == PSNR_CAP_DB
    assert ssim(clean[0], clean[0]) == 1.0
    agg = score_clip(clean, reference=clean.copy(), config=ScoreConfig(temporal=False)).aggregates()
    assert agg["psnr_min"] == PSNR_CAP_DB and agg["ssim_min"] == 1.0


@pytest.mark.parametrize(
    "spec",
    [DegradationSpec(noise_sigma=6), DegradationSpec(blur_sigma=1.5), DegradationSpec(jpeg_quality=15),
     DegradationSpec(h264_crf=30)],
    ids=["noise", "blur", "jpeg", "h264"],
)
def test_full_reference_scores_drop_with_each_degradation(clean, spec):
    bad = degrade(clean, spec, seed=1)
    assert _mean(psnr, bad, clean) < 40
    assert _mean(ssim, bad, clean) < 0.99
    worse = degrade(clean, DegradationSpec(**{**spec.to_dict(), **_stronger(spec)}), seed=1)
    assert _mean(psnr, worse, clean) < _mean(psnr, bad, clean)
    assert _mean(ssim, worse, clean) < _mean(ssim, bad, clean)


def _stronger(spec):
    if spec.noise_sigma:
        return {"noise_sigma": spec.noise_sigma * 3}
    if spec.blur_sigma:
        return {"blur_sigma": spec.blur_sigma * 2}
    if spec.jpeg_quality:
        return {"jpeg_quality": 5}
    return {"h264_crf": 45}


def test_no_reference_scores_move_the_right_way(clean):
    noisy = degrade(clean, DegradationSpec(noise_sigma=8), seed=1)
    blurred = degrade(clean, DegradationSpec(blur_sigma=2.0), seed=1)
    blocky = degrade(clean, DegradationSpec(jpeg_quality=10), seed=1)
    assert _mean(noise_sigma, noisy) > _mean(noise_sigma, clean) + 3
    # luma noise of independent RGB noise with sigma 8 has sigma ~5.3
    assert 4.0 < _mean(noise_sigma, noisy) < 7.5
    assert _mean(sharpness, blurred) < 0.3 * _mean(sharpness, clean)
    assert _mean(blockiness, blocky) > _mean(blockiness, clean) + 0.2
    assert 0.8 < _mean(blockiness, clean) < 1.2


def test_fidelity_flags_colour_shift_and_misalignment(clean):
    lq = degrade(clean, DegradationSpec(downscale=2), seed=0)
    good = _mean(lr_psnr, clean, lq)
    shifted = clean.astype(int)
    shifted[..., 0] += 20
    shifted[..., 2] -= 20
    shifted = np.clip(shifted, 0, 255).astype(np.uint8)
    assert _mean(lr_psnr, shifted, lq) < good - 5
    assert _mean(lr_delta_e, shifted, lq) > _mean(lr_delta_e, clean, lq) + 5
    late = np.concatenate([clean[1:], clean[-1:]])  # one frame out of step
    assert _mean(lr_psnr, late, lq) < good - 3


def test_brightness_jump_is_found_at_its_join_only():
    hq = make_clip("procedural:6", 25, (64, 96), "pan", seed=0)
    lq = degrade(hq, DegradationSpec(downscale=2, noise_sigma=2), seed=0)
    out = hq.astype(int)
    out[12:] += 14
    out = np.clip(out, 0, 255).astype(np.uint8)
    scores = score_clip(out, lq=lq, joins=(6, 12, 18), config=ScoreConfig(noref=False))
    assert scores.seams[12] > 2.0
    assert scores.seams[6] < 1.5 and scores.seams[18] < 1.5
    errs = scores.curves["warp_error"]
    assert max(errs, key=errs.get) == 11  # the pair (11, 12)
    agg = scores.aggregates()
    assert agg["seam_max"] == scores.seams[12] and agg["seam_count"] == 3


def test_scores_are_bitwise_stable(clean):
    lq = degrade(clean, DegradationSpec(downscale=2, noise_sigma=3), seed=0)
    runs = [score_clip(clean, reference=clean, lq=lq, joins=(4,)).aggregates() for _ in range(2)]
    assert runs[0] == runs[1]


def test_size_mismatch_records_an_error_and_keeps_other_scores(clean):
    small = clean[:, :32, :48]
    agg = score_clip(clean, reference=small, config=ScoreConfig(temporal=False)).aggregates()
    assert "48x32" in agg["psnr_error"] and "TargetSize" in agg["psnr_error"]
    assert "ssim_error" in agg and "sharpness_mean" in agg and "psnr_mean" not in agg


def test_short_reference_scores_the_overlap_and_says_so(clean):
    scores = score_clip(clean, reference=clean[:5], config=ScoreConfig(temporal=False))
    assert sorted(scores.curves["psnr"]) == [0, 1, 2, 3, 4]
    assert "frames 0-4" in scores.aggregates()["notes"]


def test_sampler_bounds_cost_but_keeps_join_pairs(clean):
    assert list(FrameSampler(max_frames=3).pick(9)) == [0, 4, 8]
    assert list(FrameSampler(stride=4).pick(9)) == [0, 4, 8]
    s = score_clip(clean, joins=(6,), config=ScoreConfig(sampler=FrameSampler(max_frames=2), seam_window=1))
    assert s.frames_scored == 2 and sorted(s.curves["sharpness"]) == [0, 8]
    assert {4, 5, 6} <= set(s.curves["warp_error"])


def test_bad_clip_shapes_are_refused(clean):
    with pytest.raises(InputError, match=r"\(T, H, W, 3\)"):
        score_clip(clean[0])
    with pytest.raises(InputError, match="joins"):
        score_clip(clean, joins=(0,))


def test_uint16_frames_score_on_the_same_scale(clean):
    wide = clean.astype(np.uint16) * 257
    a = score_clip(clean, reference=clean, config=ScoreConfig(temporal=False)).aggregates()
    b = score_clip(wide, reference=wide, config=ScoreConfig(temporal=False)).aggregates()
    assert b["sharpness_mean"] == pytest.approx(a["sharpness_mean"], rel=1e-4)


def test_psnr_and_ssim_agree_with_scikit_image(clean):
    metrics = pytest.importorskip("skimage.metrics")
    from seedvr.quality.frames import luma

    bad = degrade(clean, DegradationSpec(noise_sigma=5, jpeg_quality=40), seed=0)
    ya, yb = luma(bad[0]).astype(np.float64), luma(clean[0]).astype(np.float64)
    expected_ssim = metrics.structural_similarity(ya, yb, gaussian_weights=True, sigma=1.5,
                                                  use_sample_covariance=False, data_range=255)
    assert ssim(bad[0], clean[0]) == pytest.approx(expected_ssim, abs=1e-9)
    assert psnr(bad[0], clean[0]) == pytest.approx(metrics.peak_signal_noise_ratio(yb, ya, data_range=255))


def test_a_scene_cut_in_the_input_is_not_a_seam():
    a = make_clip("procedural:6", 12, (64, 96), "pan", seed=0)
    b = make_clip("procedural:9", 12, (64, 96), "pan", seed=1)
    hq = np.concatenate([a, b])  # a cut at frame 12, where the planner also puts a join
    lq = degrade(hq, DegradationSpec(downscale=2, noise_sigma=2), seed=0)
    with_cut = score_clip(hq, lq=lq, joins=(12,), config=ScoreConfig(noref=False))
    assert np.isnan(with_cut.seams[12]) and "scene cuts" in with_cut.aggregates()["notes"]
    alone = score_clip(hq, joins=(12,), config=ScoreConfig(noref=False))  # no input: the cut reads as a jump
    assert alone.seams[12] > 2.0


def test_temporal_shimmer_raises_the_warp_error():
    from seedvr.synthetic import make_ai_clip

    calm = make_ai_clip(9, (64, 96), seed=0, shimmer=0.0)
    shimmering = make_ai_clip(9, (64, 96), seed=0, shimmer=10.0)
    cfg = ScoreConfig(noref=False)
    calm_err = score_clip(calm, config=cfg).aggregates()["warp_error_mean"]
    assert score_clip(shimmering, lq=calm, config=cfg).aggregates()["warp_error_mean"] > 2 * calm_err
