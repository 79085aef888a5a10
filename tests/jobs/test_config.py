"""Job configuration: profiles, inheritance, overrides, validation and the config hash."""

from __future__ import annotations

import re

import pytest

from jobs.config import config_hash, load_config, parse_set
from seedvr.errors import ConfigError


def test_local_profile_defaults_and_demo_inherits_it() -> None:
    local = load_config("local")
    demo = load_config("demo")
    assert local.engine.kind == "sail" and local.engine.sail_env["SAIL_EXECUTION__BATCH_SIZE"] == "16"
    assert demo.tables.root.endswith("var/demo/tables")
    assert demo.engine == local.engine  # inherited unchanged


def test_databricks_profiles_parse_with_catalog_tables() -> None:
    from jobs.tables import table_refs

    prod = load_config("databricks_prod")
    refs = table_refs(prod.tables)
    assert prod.engine.kind == "active"
    assert refs.videos.name == f"{prod.tables.catalog}.{prod.tables.schema_}.videos"


def test_overrides_win_and_parse_as_yaml() -> None:
    cfg = load_config("local", parse_set(["execution.gpu_slots=4", "model.preset=identity",
                                          "model.sampling.steps=2"]))
    assert cfg.execution.gpu_slots == 4 and cfg.model.preset == "identity" and cfg.model.sampling == {"steps": 2}


@pytest.mark.parametrize("bad, needle", [
    ({"execution": {"gpu_slot": 2}}, "execution.gpu_slot"),
    ({"segments": {"segment_frames": 8}}, "4n+1"),
    ({"engine": {"kind": "yarn"}}, "engine.kind"),
])
def test_bad_values_name_the_key(bad: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(needle)):
        load_config("local", bad)


def test_unknown_profile_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match="known profiles"):
        load_config("no-such-profile")


def test_config_hash_is_stable_and_covers_pixel_settings() -> None:
    base = load_config("local")
    h = config_hash(base, None)
    assert h == config_hash(load_config("local"), None) and len(h) == 16
    changed = [
        {"model": {"preset": "tiny-v1"}}, {"model": {"seed": 1}}, {"model": {"colour_fix": "adain"}},
        {"model": {"sampling": {"steps": 2}}}, {"model": {"target": {"value": 4.0}}},
        {"segments": {"segment_frames": 9}}, {"segments": {"context_frames": 2}},
    ]
    for over in changed:
        assert config_hash(load_config("local", over), None) != h, over
    assert config_hash(base, "w1") != h
    # Not part of the identity: where it runs, how it encodes, how many slots.
    same = [{"execution": {"gpu_slots": 8}}, {"encode": {"crf": 30}}, {"model": {"device": "cuda"}},
            {"storage": {"output_root": "/elsewhere"}}]
    for over in same:
        assert config_hash(load_config("local", over), None) == h, over


def test_code_defaults_and_local_profile_are_seedvr_defaults() -> None:
    """The job restores as seedvr-clip does unless a profile says otherwise (and says why)."""
    from jobs.config import JobConfig
    from seedvr import defaults
    from seedvr.cli.restore_clip import build_parser

    clip = build_parser().parse_args(["in.mp4", "out.mp4"])
    for cfg in (JobConfig(), load_config("local"), load_config("s3_example")):
        m, s = cfg.model, cfg.segments
        assert (m.preset, m.seed, m.dtype, m.attention, m.colour_fix, m.vae_tile, m.weights) == (
            clip.preset, clip.seed, None, clip.attention, clip.color_fix, None, None) == (
            defaults.PRESET, defaults.SEED, None, defaults.ATTENTION, defaults.COLOR_FIX, None, None)
        assert (m.target.mode, m.target.value, m.target.multiple) == defaults.target_spec() == (
            "short_side", 720, 2)
        assert (s.segment_frames, s.context_frames) == (clip.segment_frames, clip.context_frames) == (45, 8)


def test_demo_names_a_tiny_preset_that_runs_without_weights() -> None:
    from seedvr.defaults import validate_model_choice

    demo = load_config("demo")
    assert demo.model.preset == "tiny-v2" and demo.model.weights is None
    validate_model_choice(demo.model.preset, None)  # no ConfigError: seeded random weights
    with pytest.raises(ConfigError, match="needs --weights"):
        validate_model_choice(load_config("local").model.preset, None)
