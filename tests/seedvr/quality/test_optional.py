import numpy as np
import pytest
import torch

from seedvr.quality import ScoreConfig, score_clip
from seedvr.quality.lpips import LPIPSAlex
from seedvr.synthetic import DegradationSpec, degrade, make_clip


@pytest.fixture(scope="module")
def clip():
    return make_clip("procedural:2", 3, (64, 64), "pan", seed=0)


def test_missing_weights_are_reported_and_other_scores_kept(clip):
    cfg = ScoreConfig(temporal=False, optional=("lpips", "dover"))
    agg = score_clip(clip, reference=clip, config=cfg).aggregates()
    assert "lpips: skipped: weights not given" in agg["skipped"]
    assert "dover: skipped: not implemented" in agg["skipped"]
    assert agg["psnr_mean"] > 0 and "lpips_mean" not in agg


def test_weights_path_that_does_not_exist_is_an_error_not_a_crash(clip, tmp_path):
    cfg = ScoreConfig(temporal=False, optional=("lpips",), weights=(("lpips", str(tmp_path / "none.pth")),))
    agg = score_clip(clip, reference=clip, config=cfg).aggregates()
    assert agg["lpips_error"].startswith("checkpoint:") and "not found" in agg["lpips_error"]
    assert "ssim_mean" in agg


def _staged_weights(tmp_path):
    """Random weights under the real file layouts: torchvision AlexNet keys and lpips head keys."""
    torch.manual_seed(0)
    model = LPIPSAlex()
    backbone = {}
    for j, idx in enumerate((0, 3, 6, 8, 10)):
        backbone[f"features.{idx}.weight"] = model.convs[j].weight.detach().clone()
        backbone[f"features.{idx}.bias"] = model.convs[j].bias.detach().clone()
    heads = {f"lin{j}.model.1.weight": torch.rand_like(h.weight) for j, h in enumerate(model.heads)}
    torch.save(backbone, tmp_path / "alexnet.pth")
    torch.save(heads, tmp_path / "alex.pth")
    return f"{tmp_path / 'alexnet.pth'},{tmp_path / 'alex.pth'}"


def test_lpips_from_local_weights(clip, tmp_path):
    spec = _staged_weights(tmp_path)
    cfg = ScoreConfig(temporal=False, optional=("lpips",), weights=(("lpips", spec),))
    same = score_clip(clip, reference=clip, config=cfg).curves["lpips"]
    assert all(v == 0.0 for v in same.values())
    noisy = degrade(clip, DegradationSpec(noise_sigma=10), seed=0)
    noisier = degrade(clip, DegradationSpec(noise_sigma=30), seed=0)
    a = np.mean(list(score_clip(noisy, reference=clip, config=cfg).curves["lpips"].values()))
    b = np.mean(list(score_clip(noisier, reference=clip, config=cfg).curves["lpips"].values()))
    assert 0 < a < b


def test_lpips_weights_missing_keys_name_them(clip, tmp_path):
    torch.save({"features.0.weight": torch.zeros(64, 3, 11, 11)}, tmp_path / "partial.pth")
    cfg = ScoreConfig(temporal=False, optional=("lpips",), weights=(("lpips", str(tmp_path / "partial.pth")),))
    agg = score_clip(clip, reference=clip, config=cfg).aggregates()
    assert "features.0.bias" in agg["lpips_error"]
