"""`model.compile` and `model.fp8`: parsed from profiles, flags and `--set`, passed to the restorer, outside
the config hash."""

from __future__ import annotations

from jobs.cli import add_model_flags, base_parser, config_from_args
from jobs.config import config_hash, load_config, parse_set
from jobs.restore.pipeline import _model_options


def test_compile_modes_share_one_config_hash() -> None:
    default = load_config(None)
    assert default.model.compile == "auto"
    modes = {m: load_config(None, parse_set([f"model.compile={m}"])) for m in ("on", "off", "auto")}
    assert {c.model.compile for c in modes.values()} == {"on", "off", "auto"}  # YAML's on/off booleans too
    assert {config_hash(c, "w") for c in modes.values()} == {config_hash(default, "w")}


def test_compile_flag_reaches_the_restorer_options() -> None:
    p = base_parser("seedvr-restore", "restore")
    add_model_flags(p)
    cfg = config_from_args(p.parse_args(["--compile", "off"]))
    assert cfg.model.compile == "off"
    assert _model_options(cfg)["compile"] == "off"


def test_fp8_mode_reaches_the_restorer_and_leaves_the_hash() -> None:
    import pytest

    from seedvr.errors import ConfigError

    p = base_parser("seedvr-restore", "restore")
    add_model_flags(p)
    default = load_config(None)
    cfg = config_from_args(p.parse_args(["--fp8", "on_the_fly", "--preset", "tiny-v2"]))
    assert cfg.model.fp8 == "on_the_fly" and _model_options(cfg)["fp8"] == "on_the_fly"
    assert "fp8" not in _model_options(config_from_args(p.parse_args(["--preset", "tiny-v2"])))
    assert config_hash(cfg, "w") == config_hash(default.model_copy(update={"model": default.model.model_copy(
        update={"preset": "tiny-v2"})}), "w")
    with pytest.raises(ConfigError, match="--fp8"):
        config_from_args(p.parse_args(["--fp8", "sometimes"]))
