"""A video's scores: the frames they use, how frames are pooled, and scikit-image as the reference."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity
from skimage.transform import downscale_local_mean

from seedvr.quality import PSNR_CAP_DB, ScoreConfig, lr_psnr, psnr, score_clip, ssim
from seedvr.quality.fullref import pooled_psnr
from seedvr.quality.plots import _plain_axis
from seedvr.quality.video import read_scored, score_frames, scored_frames, video_scores
from seedvr.synthetic import DegradationSpec, degrade, make_clip


@pytest.fixture(scope="module")
def pair():
    hq = make_clip("procedural:4", 40, (48, 64), "pan", seed=0)
    lq = degrade(hq, DegradationSpec(downscale=2, noise_sigma=3), seed=0)
    return hq, lq


def test_psnr_ssim_and_lr_psnr_are_scikit_images(pair):
    hq, lq = pair
    bad = degrade(hq[:1], DegradationSpec(noise_sigma=5), seed=1)[0]
    assert psnr(bad, hq[0], on_luma=False) == peak_signal_noise_ratio(hq[0], bad, data_range=255)
    assert ssim(hq[0], hq[0]) == 1.0 and psnr(hq[0], hq[0]) == PSNR_CAP_DB
    y = np.array([0.299, 0.587, 0.114])
    ya, yb = (bad.astype(np.float64) @ y), (hq[0].astype(np.float64) @ y)
    assert psnr(bad, hq[0]) == pytest.approx(peak_signal_noise_ratio(yb, ya, data_range=255), abs=1e-4)
    assert ssim(bad, hq[0]) == pytest.approx(structural_similarity(
        ya, yb, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255), abs=1e-5)
    down = downscale_local_mean(hq[0].astype(np.float64), (2, 2, 1))  # the output box-averaged, not rounded
    assert lr_psnr(hq[0], lq[0]) == pytest.approx(peak_signal_noise_ratio(lq[0].astype(np.float64), down,
                                                                          data_range=255), abs=1e-9)


def test_a_clips_psnr_is_the_psnr_of_its_mean_error():
    assert pooled_psnr([PSNR_CAP_DB, PSNR_CAP_DB]) == PSNR_CAP_DB
    assert pooled_psnr([30.0]) == pytest.approx(30.0)
    # one identical frame next to a 30 dB one: the mean of dB would say 65 dB, the video's error says 33 dB
    assert pooled_psnr([30.0, PSNR_CAP_DB]) == pytest.approx(30.0 + 10 * np.log10(2))
    hq = make_clip("procedural:5", 6, (32, 48), "pan", seed=0)
    bad = degrade(hq, DegradationSpec(noise_sigma=4), seed=2)
    agg = score_clip(bad, reference=hq, config=ScoreConfig(temporal=False, noref=False)).aggregates()
    ya = np.stack([f.astype(np.float64) @ [0.299, 0.587, 0.114] for f in bad])
    yb = np.stack([f.astype(np.float64) @ [0.299, 0.587, 0.114] for f in hq])
    assert agg["psnr_mean"] == pytest.approx(peak_signal_noise_ratio(yb, ya, data_range=255), abs=1e-4)
    assert agg["psnr_min"] < agg["psnr_mean"]


def test_a_videos_frames_are_spread_over_the_whole_video():
    assert scored_frames(20) == list(range(20))
    picked = scored_frames(5700)
    assert len(picked) == 32 and picked[0] == 0 and picked[-1] == 5699


def test_video_scores_from_readers_match_an_independent_computation(pair):
    hq, lq = pair
    calls = []

    def reader(clip):
        def read(a, b):
            calls.append((a, b))
            return clip[a:b]
        return read

    n = len(hq)
    clip = score_frames(read_scored(reader(hq), n), read_scored(reader(lq), n), n)
    scores = video_scores(clip, {9: 1.2, 18: float("nan")})
    picked = scored_frames(n)
    assert sorted(clip.curves["lr_psnr"]) == picked
    assert sorted(clip.curves["warp_error"]) == [t for t in picked if t + 1 < n]
    down = [downscale_local_mean(hq[t].astype(np.float64), (2, 2, 1)) for t in picked]
    mse = np.mean([mean_squared_error(lq[t].astype(np.float64), d) for t, d in zip(picked, down, strict=True)])
    assert scores["lr_psnr_mean"] == pytest.approx(10 * np.log10(255**2 / mse), abs=1e-6)
    assert scores["seam_max"] == scores["seam_mean"] == 1.2
    assert "num_frames" not in scores and "input_sharpness_mean" in scores
    assert len(calls) == 2 and calls[0] == (0, n)  # a short video is decoded in one range per file


def test_score_axes_show_plain_values():
    fig = Figure()
    ax = fig.subplots()
    ys = [2.0 + 1e-9 * k for k in range(5)]  # constant up to rounding
    ax.plot(range(5), ys)
    _plain_axis(ax, "y", ys)
    FigureCanvasAgg(fig).draw()
    assert ax.yaxis.get_offset_text().get_text() == ""
    lo, hi = ax.get_ylim()
    assert lo < 1.95 and hi > 2.05  # drawn flat, not stretched to the rounding noise
    big = Figure().subplots()
    big.plot([0, 1], [1e6, 1e6 + 3])
    _plain_axis(big, "y", [1e6, 1e6 + 3])
    FigureCanvasAgg(big.figure).draw()
    assert big.yaxis.get_offset_text().get_text() == ""
    assert all("e" not in t.get_text() for t in big.get_yticklabels())


def test_scoring_in_chunks_equals_scoring_whole(make_video, monkeypatch):
    from seedvr.quality import video
    from seedvr.video.probe import probe

    src = probe(make_video("chunk_src", frames=40, size=(32, 48), seed=1), isolate=False)
    out = make_video("chunk_out", frames=40, size=(64, 96), seed=2)
    whole = video.score_video_clip(src, out, isolate=False)
    assert video.chunk_picks(scored_frames(40), 40, 10**6) == [scored_frames(40)]
    monkeypatch.setattr(video, "CHUNK_MB", 0.1)  # about four frames of both files at a time
    chunked = video.score_video_clip(src, out, isolate=False)
    assert chunked.curves == whole.curves and chunked.frames_scored == whole.frames_scored == 32
    assert video_scores(chunked) == video_scores(whole)
    assert len(video.chunk_picks(scored_frames(40), 40, 4)) > 8


@pytest.mark.parametrize("scale", [2, 1])
def test_frame_by_frame_scores_are_each_public_score_of_the_frames(pair, scale):
    """What several scores share is computed once per frame; every value is still bit for bit the public
    per-frame function's (the definition), for a resized output and an output at the source's size."""
    from seedvr.quality import blockiness, lr_delta_e, noise_sigma, sharpness, warp_error
    from seedvr.quality.video import FLOW_PRESET, bicubic

    hq, lq = pair
    out, src = (hq, lq) if scale == 2 else (hq, hq[:, ::-1].copy())
    n, picked, cuts = len(out), [0, 1, 2, 7, 20, 21, 39], [21]
    clip = score_frames(dict(enumerate(out)), dict(enumerate(src)), n, picked, cuts)
    noref = {"sharpness": sharpness, "noise_sigma": noise_sigma, "blockiness": blockiness}
    expected = {}
    for k, fn in noref.items():
        expected[k] = {t: fn(out[t]) for t in picked}
        expected[f"input_{k}"] = {t: fn(src[t]) for t in picked}
        expected[f"bicubic_{k}"] = {t: fn(bicubic(src[t], out.shape[1:3])) for t in picked}
    expected["lr_psnr"] = {t: lr_psnr(out[t], src[t]) for t in picked}
    expected["lr_delta_e"] = {t: lr_delta_e(out[t], src[t]) for t in picked}
    expected["warp_error"] = {t: warp_error(out[[t, t + 1]], 0, flow_frames=src[[t, t + 1]], preset=FLOW_PRESET)
                              for t in (0, 1, 2, 7, 21)}  # 20 -> 21 crosses a cut; 39 is the last frame
    assert clip.curves == expected and not clip.errors and clip.frames_scored == len(picked)


def test_a_score_failing_on_one_frame_loses_its_curve_only(pair, monkeypatch):
    from seedvr.quality import video

    hq, lq = pair
    calls = []

    def flaky(y):  # per frame: the output's luma, the source's, the upscaled source's
        calls.append(y.shape)
        if len(calls) == 4:  # the output of the second frame
            raise ValueError("bad frame")
        return float(len(calls))

    monkeypatch.setitem(video.NOREF_LUMA_SCORES, "sharpness", flaky)
    clip = score_frames(dict(enumerate(hq)), dict(enumerate(lq)), len(hq), [0, 5, 10, 15])
    assert list(clip.errors) == ["sharpness"] and clip.errors["sharpness"].endswith(": bad frame")
    assert "sharpness" not in clip.curves and len(calls) == 10  # not asked again after its failure
    assert clip.curves["input_sharpness"] == {0: 2.0, 5: 5.0, 10: 7.0, 15: 9.0}
    assert clip.curves["bicubic_sharpness"] == {0: 3.0, 5: 6.0, 10: 8.0, 15: 10.0}
    assert sorted(clip.curves["warp_error"]) == [0, 5, 10, 15]
