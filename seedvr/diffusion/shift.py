"""Resolution-dependent time shift (SD3 style) used for the condition-noise augmentation.

Bigger videos keep more signal at a given noise level, so the nominal noise time is pushed towards T
by a factor that grows linearly with the pixel count.
"""

from __future__ import annotations

from collections.abc import Sequence

from seedvr.diffusion.schedule import T_MAX

# Two points on each line: (pixel count, shift).
_IMG_LINE = ((256 * 256, 1.0), (1024 * 1024, 3.2))
_VID_LINE = ((256 * 256 * 37, 1.0), (1280 * 720 * 145, 5.0))


def _line(points: tuple[tuple[float, float], tuple[float, float]], x: float) -> float:
    (x1, y1), (x2, y2) = points
    m = (y2 - y1) / (x2 - x1)
    return m * x + (y1 - m * x1)


def resolution_shift(latent_thw: Sequence[int], *, temporal_factor: int = 4, spatial_factor: int = 8) -> float:
    """Shift for a latent grid (T', h, w): pixel frames F = 4(T'-1)+1, H = 8h, W = 8w.

    A single frame (F = 1) uses the image line, longer clips the video line.
    """
    lt, lh, lw = (int(v) for v in latent_thw)
    frames = (lt - 1) * temporal_factor + 1
    pixels = lh * spatial_factor * lw * spatial_factor
    if frames > 1:
        return _line(_VID_LINE, pixels * frames)
    return _line(_IMG_LINE, pixels)


def shift_timestep(t: float, shift: float, T: float = T_MAX) -> float:
    """t' = shift·u / (1 + (shift - 1)·u) with u = t/T, back on the 0..T scale."""
    u = t / T
    return T * shift * u / (1 + (shift - 1) * u)


def condition_noise_grid(latent_thwc: Sequence[int], *, reference_quirk: bool = True) -> tuple[int, int, int]:
    """The (T', h, w) grid the shift is computed from, given a channels-last latent shape (T', h, w, C).

    The reference scripts pass the latent's `shape[1:]`, i.e. (h, w, C), where (T', h, w) is meant;
    at 720p that gives a shift of about 2.7 instead of about 4.3. `reference_quirk=True` (the default)
    reproduces it, because the released SeedVR checkpoints were evaluated that way.
    """
    if len(latent_thwc) != 4:
        raise ValueError(f"expected a channels-last latent shape (T', h, w, C), got {tuple(latent_thwc)}")
    lt, lh, lw, lc = (int(v) for v in latent_thwc)
    return (lh, lw, lc) if reference_quirk else (lt, lh, lw)
