"""seedvr.defaults: the shared run settings, the parsing of their flags, and the model-choice check."""

from __future__ import annotations

import pytest

from seedvr import defaults
from seedvr.errors import ConfigError
from seedvr.restorer import TargetSize


def test_reference_defaults() -> None:
    assert (defaults.PRESET, defaults.RESOLUTION, defaults.SEED) == ("seedvr2-3b", "720p", 666)
    assert (defaults.SEGMENT_FRAMES - 1) % 4 == 0 and defaults.CONTEXT_FRAMES < defaults.SEGMENT_FRAMES
    assert defaults.default_target() == TargetSize("short_side", 720.0, 2)
    # 720p is the display's shorter side: 960x720 for a 4:3 source, 1280x720 for 16:9, 720x1280 upright.
    assert defaults.default_target().output_size(480, 640) == (720, 960)
    assert defaults.default_target().output_size(360, 640) == (720, 1280)
    assert defaults.default_target().output_size(640, 360) == (1280, 720)


@pytest.mark.parametrize("text, area", [("720p", 921600), ("1080P", 2073600), ("4k", 3840 * 2160),
                                         ("1920x1080", 2073600), ("640*480", 307200), ("500000", 500000)])
def test_parse_resolution(text: str, area: int) -> None:
    assert defaults.parse_resolution(text) == area


@pytest.mark.parametrize("text", ["huge", "", "10", "nan", "-720", "1280x"])
def test_parse_resolution_refuses_non_sizes(text: str) -> None:
    with pytest.raises(ConfigError, match="is not a size; use one of 480p"):
        defaults.parse_resolution(text)


def test_target_spec_modes_and_conflicts() -> None:
    assert defaults.target_spec() == ("short_side", 720.0, 2)
    assert defaults.target_spec("1080p") == ("short_side", 1080.0, 2)
    assert defaults.target_spec("1280x720") == ("area", 921600.0, 2)  # WxH: the reference's area
    assert defaults.target_spec(short_side=1080) == ("short_side", 1080.0, 2)
    assert defaults.target_spec(scale=1) == ("scale", 1.0, 1)  # exact size: odd sides kept
    with pytest.raises(ConfigError, match="--resolution and --scale both set the output size"):
        defaults.target_spec("720p", scale=2)
    with pytest.raises(ConfigError, match="--short-side 0 must be a size in pixels"):
        defaults.target_spec(short_side=0)
    with pytest.raises(ConfigError, match="--scale -1 must be a positive factor"):
        defaults.target_spec(scale=-1)


def test_dtype_and_vae_tile_parsing() -> None:
    assert [defaults.normalize_dtype(v) for v in (None, "auto", "bf16", "torch.float16", "FP32")] == [
        None, None, "bfloat16", "float16", "float32"]
    with pytest.raises(ConfigError, match="dtype 'int8' is not one of auto, bfloat16"):
        defaults.normalize_dtype("int8")
    assert [defaults.parse_vae_tile(v) for v in (None, "auto", "512", 1024)] == [None, None, 512, 1024]
    for bad in ("500", "32", "big"):
        with pytest.raises(ConfigError, match="must be auto or a tile edge"):
            defaults.parse_vae_tile(bad)


def test_model_choice_checked_before_any_work(tmp_path) -> None:
    assert defaults.validate_model_choice("tiny-v2").name == "tiny-v2"  # seeded random weights
    assert defaults.validate_model_choice("identity").is_identity
    with pytest.raises(ConfigError, match=r"unknown preset 'seedvr2_3b'; did you mean 'seedvr2-3b'\?"):
        defaults.validate_model_choice("seedvr2_3b")
    with pytest.raises(ConfigError, match=r"needs --weights PATH_OR_URL .* use --preset tiny-v2"):
        defaults.validate_model_choice("seedvr2-3b")
    with pytest.raises(ConfigError, match="preset identity has no model, so no weights"):
        defaults.validate_model_choice("identity", "/w")
    with pytest.raises(ConfigError, match=f"weights {tmp_path / 'absent'} not found"):
        defaults.validate_model_choice("seedvr2-3b", str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match="holds none of seedvr2_ema_3b.pth"):
        defaults.validate_model_choice("seedvr2-3b", str(tmp_path))
    (tmp_path / "seedvr2_ema_3b.pth").write_bytes(b"")
    assert defaults.validate_model_choice("seedvr2-3b", str(tmp_path)).name == "seedvr2-3b"
    assert defaults.validate_model_choice("seedvr2-3b", str(tmp_path / "absent"), check_weights_exist=False)
    with pytest.raises(ConfigError, match="attention 'xformers' is not one of auto, flash, sdpa"):
        defaults.validate_model_choice("tiny-v2", attention="xformers")
    with pytest.raises(ConfigError, match="color fix 'lab' is not one of wavelet, adain, none"):
        defaults.validate_model_choice("tiny-v2", color_fix="lab")
