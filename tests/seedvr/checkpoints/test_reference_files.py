"""Weights in the reference's own key names (the golden fixtures) and from remote URLs load strictly."""

from pathlib import Path

import fsspec
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from seedvr.checkpoints.loading import load_models

GOLDEN = Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "golden"


def _golden_state(name: str) -> dict[str, torch.Tensor]:
    path = GOLDEN / f"{name}.safetensors"
    if not path.is_file():
        pytest.skip(f"golden fixture {path} not found")
    with safe_open(str(path), framework="pt") as f:
        return {k.removeprefix("state."): f.get_tensor(k) for k in f.keys() if k.startswith("state.")}


@pytest.mark.parametrize(("preset", "dit_fixture"), [("tiny-v2", "dit_v2_tiny"), ("tiny-v1", "dit_v1_tiny")])
def test_reference_named_weights_load_strictly(tmp_path, preset, dit_fixture):
    dit_state, vae_state = _golden_state(dit_fixture), _golden_state("vae_tiny")
    save_file(dit_state, str(tmp_path / "dit.safetensors"))
    torch.save(vae_state, tmp_path / "vae.pth")
    g = torch.Generator().manual_seed(0)
    torch.save(torch.randn(58, 96, generator=g), tmp_path / "pos_emb.pt")
    torch.save(torch.randn(64, 96, generator=g), tmp_path / "neg_emb.pt")
    models = load_models(preset, tmp_path)
    params = dict(models.dit.named_parameters())
    assert all(torch.equal(params[k], v) for k, v in dit_state.items() if k in params)
    assert set(dit_state) == set(models.dit.state_dict())


def test_weights_from_a_remote_folder_are_cached_locally(tmp_path):
    models = load_models("tiny-v2")
    fs = fsspec.filesystem("memory")
    for name, module in (("dit.safetensors", models.dit), ("vae.safetensors", models.vae)):
        state = {k: v.contiguous() for k, v in module.state_dict().items()}
        save_file(state, str(tmp_path / name))
        fs.pipe(f"/remote-weights/{name}", (tmp_path / name).read_bytes())
    for name, emb in (("pos_emb.pt", models.pos_emb), ("neg_emb.pt", models.neg_emb)):
        torch.save(emb, tmp_path / name)
        fs.pipe(f"/remote-weights/{name}", (tmp_path / name).read_bytes())
    loaded = load_models("tiny-v2", "memory://remote-weights", cache_dir=tmp_path / "cache")
    assert loaded.sources["dit"] == "memory://remote-weights/dit.safetensors"
    assert len(list((tmp_path / "cache").rglob("*.safetensors"))) == 2
    assert torch.equal(loaded.dit.vid_in.proj.weight, models.dit.vid_in.proj.weight)
