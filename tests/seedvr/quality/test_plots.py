import numpy as np

from seedvr.quality.plots import frame_strip, score_curves, score_histograms


def _is_png(path):
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plots_write_pngs(tmp_path):
    rng = np.random.default_rng(0)
    lq = rng.integers(0, 255, (5, 16, 24, 3), dtype=np.uint8)
    hq = rng.integers(0, 255, (5, 32, 48, 3), dtype=np.uint8)
    strip = frame_strip({"input": lq, "restored": hq}, tmp_path / "a" / "strip.png")
    curves = score_curves({"psnr": {0: 30.0, 1: 31.0}, "warp_error": {0: 1.0}}, tmp_path / "c.png", joins=(1,))
    hist = score_histograms({"psnr": {"identity": [30, 31], "tiny": [28]}, "ssim": [0.9]}, tmp_path / "h.png")
    for p in (strip, curves, hist):
        assert p.exists() and _is_png(p)
