import pytest

from seedvr.checkpoints import PRESETS, get_preset
from seedvr.errors import ConfigError
from seedvr.models.dit.config import DIT_3B, DIT_7B


def test_all_names_present():
    assert set(PRESETS) == {"seedvr2-3b", "seedvr2-7b", "seedvr2-7b-sharp", "seedvr-3b", "seedvr-7b",
                            "tiny-v1", "tiny-v2", "identity"}


def test_sampling_defaults_follow_the_family():
    for name in ("seedvr2-3b", "seedvr2-7b", "seedvr2-7b-sharp"):
        s = get_preset(name).sampling
        assert (s.steps, s.cfg_scale, s.cond_noise_scale) == (1, 1.0, 0.0)
    for name in ("seedvr-3b", "seedvr-7b"):
        s = get_preset(name).sampling
        assert (s.steps, s.cfg_scale, s.cond_noise_scale) == (50, 6.5, 0.1)
    assert get_preset("seedvr2-3b").dit is DIT_3B and get_preset("seedvr-7b").dit is DIT_7B
    assert get_preset("seedvr2-7b-sharp").files.dit[0] == "seedvr2_ema_7b_sharp.pth"
    assert get_preset("seedvr2-3b").files.vae[0] == "ema_vae.pth"


def test_unknown_preset_lists_valid_names():
    with pytest.raises(ConfigError, match="seedvr2-3b.*identity"):
        get_preset("seedvr3")


def test_overrides_are_validated():
    p = get_preset("seedvr-3b").with_sampling(steps=10, color_fix="adain")
    assert p.sampling.steps == 10 and p.sampling.cfg_scale == 6.5
    assert get_preset("seedvr-3b").sampling.steps == 50
    with pytest.raises(ConfigError, match="unknown sampling"):
        get_preset("tiny-v2").with_sampling(stepz=3)
    with pytest.raises(ConfigError, match="color_fix"):
        get_preset("tiny-v2").with_sampling(color_fix="lab")
    with pytest.raises(ConfigError):
        get_preset("tiny-v2").with_sampling(steps=0)


def test_memory_estimate_orders_presets():
    mem = {n: p.min_gpu_memory_gb for n, p in PRESETS.items()}
    assert mem["identity"] == 0.0
    assert mem["tiny-v2"] < mem["seedvr2-3b"] < mem["seedvr2-7b"] < 80
    # bf16 weights alone: 3.39e9 * 2 B = 6.3 GiB, 8.24e9 * 2 B = 15.3 GiB.
    assert mem["seedvr2-3b"] > 6.8 and mem["seedvr2-7b"] > 15.8
    assert mem["seedvr-7b"] == mem["seedvr2-7b"]
