"""Quality scores for restored clips: no-reference, temporal and seam, input fidelity, full reference,
optional weight-backed metrics (never downloaded), and plots. numpy + OpenCV; no Spark."""

from seedvr.quality.fidelity import lr_delta_e, lr_psnr
from seedvr.quality.fullref import PSNR_CAP_DB, psnr, ssim
from seedvr.quality.noref import blockiness, noise_sigma, sharpness
from seedvr.quality.optional import OPTIONAL_METRICS, OptionalMetric
from seedvr.quality.sampler import FrameSampler
from seedvr.quality.score import ClipScores, ScoreConfig, score_clip
from seedvr.quality.temporal import frame_difference, seam_scores, warp_error, warp_errors

__all__ = [
    "OPTIONAL_METRICS",
    "PSNR_CAP_DB",
    "ClipScores",
    "FrameSampler",
    "OptionalMetric",
    "ScoreConfig",
    "blockiness",
    "frame_difference",
    "lr_delta_e",
    "lr_psnr",
    "noise_sigma",
    "psnr",
    "score_clip",
    "seam_scores",
    "sharpness",
    "ssim",
    "warp_error",
    "warp_errors",
]
