"""Job configuration: profiles, inheritance, overrides, validation and the config hash."""

from __future__ import annotations

import re

import pytest

from jobs.config import config_hash, load_config, parse_set
from seedvr.errors import ConfigError


def test_local_profile_defaults_and_demo_inherits_it() -> None:
    local = load_config("local")
    demo = load_config("demo")
    assert local.engine.kind == "sail" and local.engine.sail_env["SAIL_EXECUTION__BATCH_SIZE"] == "1"
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
