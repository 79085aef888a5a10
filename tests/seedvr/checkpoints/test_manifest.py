"""Every released preset, built on the meta device, has exactly the released checkpoints' keys and shapes."""

import json
from pathlib import Path

import pytest

from seedvr.checkpoints import PRESETS, diff_shapes
from seedvr.checkpoints.build import build_dit, dit_shapes, vae_shapes
from seedvr.checkpoints.loading import presets_fitting_dit

MANIFEST = Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "checkpoint_keys.json"
RELEASED = [name for name, p in PRESETS.items() if p.architecture]


@pytest.fixture(scope="module")
def manifest():
    if not MANIFEST.is_file():
        pytest.skip(f"checkpoint manifest not found at {MANIFEST}")
    data = json.loads(MANIFEST.read_text())
    return {arch: {k: tuple(s) for k, s in entry["keys"].items()} for arch, entry in data.items()} | {
        f"{arch}.parameters": entry["parameters"] for arch, entry in data.items()
    }


@pytest.mark.parametrize("name", RELEASED)
def test_preset_matches_released_keys_and_shapes(manifest, name):
    preset = PRESETS[name]
    dit = diff_shapes(manifest[preset.architecture], dit_shapes(preset.dit))
    vae = diff_shapes(manifest["vae"], vae_shapes(preset.vae))
    assert dit.ok, dit.describe()
    assert vae.ok, vae.describe()


def test_parameter_counts(manifest):
    for arch, cfg in (("dit_3b", PRESETS["seedvr2-3b"].dit), ("dit_7b", PRESETS["seedvr2-7b"].dit)):
        model = build_dit(cfg)
        assert sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers()) == manifest[
            f"{arch}.parameters"
        ]


def test_which_presets_fit_a_file(manifest):
    assert presets_fitting_dit(manifest["dit_3b"]) == ["seedvr2-3b", "seedvr-3b"]
    assert presets_fitting_dit(manifest["dit_7b"]) == ["seedvr2-7b", "seedvr2-7b-sharp", "seedvr-7b"]
