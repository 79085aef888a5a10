import pytest
import torch

from seedvr.checkpoints import get_preset
from seedvr.checkpoints.build import build_dit
from seedvr.checkpoints.loading import _load_into, load_models, save_state_dict
from seedvr.errors import CheckpointError, ConfigError
from seedvr.models.dit.config import DIT_3B


@pytest.fixture(scope="module")
def tiny():
    return load_models("tiny-v2")


def _write_folder(folder, models, *, suffix=".safetensors", dtype=None, legacy_vae=False):
    folder.mkdir(parents=True, exist_ok=True)
    save_state_dict(models.dit, folder / f"dit{suffix}", dtype)
    vae_path = save_state_dict(models.vae, folder / f"vae{suffix}", dtype)
    if legacy_vae:
        names = {"to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"}
        state = torch.load(vae_path, weights_only=True) if suffix == ".pth" else None
        renamed = {}
        for k, v in state.items():
            for new, old in names.items():
                if f".attentions.0.{new}." in k:
                    k = k.replace(f".{new}.", f".{old}.")
            renamed[k] = v
        torch.save(renamed, vae_path)
    torch.save(models.pos_emb.clone(), folder / "pos_emb.pt")
    torch.save(models.neg_emb.clone(), folder / "neg_emb.pt")
    return folder


def _assert_same_weights(a, b, dtype):
    # Parameters only: buffers (RoPE frequencies) are recomputed on load and checked separately.
    sa, sb = dict(a.named_parameters()), dict(b.named_parameters())
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k].to(dtype).float(), sb[k].float()), k


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_safetensors_round_trip(tmp_path, tiny, dtype):
    folder = _write_folder(tmp_path / "w", tiny, dtype=dtype)
    loaded = load_models("tiny-v2", folder)
    assert loaded.dit.vid_in.proj.weight.dtype == torch.float32  # fp32 compute on CPU
    # RoPE frequencies are recomputed, so they are exact even from a half-precision file.
    for name, buf in loaded.dit.named_buffers():
        assert buf.dtype == torch.float32 and torch.equal(buf, dict(tiny.dit.named_buffers())[name])
    _assert_same_weights(tiny.dit, loaded.dit, dtype)
    _assert_same_weights(tiny.vae, loaded.vae, dtype)
    assert torch.equal(loaded.pos_emb, tiny.pos_emb)
    assert len(loaded.sha256["dit"]) == 64 and loaded.sources["dit"].endswith("dit.safetensors")


def test_pth_round_trip_with_legacy_vae_names(tmp_path, tiny):
    folder = _write_folder(tmp_path / "w", tiny, suffix=".pth", legacy_vae=True)
    assert any(".query." in k for k in torch.load(folder / "vae.pth", weights_only=True))
    loaded = load_models("tiny-v2", {"dit": str(folder / "dit.pth")}, dtype=torch.bfloat16)
    assert loaded.dit.vid_in.proj.weight.dtype == torch.bfloat16
    _assert_same_weights(tiny.vae, loaded.vae, torch.bfloat16)
    assert not any(p.requires_grad for p in loaded.dit.parameters())


def test_wrong_preset_names_the_preset_that_fits(tmp_path, tiny):
    folder = _write_folder(tmp_path / "w", tiny)
    with pytest.raises(CheckpointError, match=r"(?s)do not match preset 'tiny-v1'.*fits preset\(s\): tiny-v2"):
        load_models("tiny-v1", folder)


def test_7b_preset_on_a_3b_file_explains_the_mismatch():
    # Meta tensors stand in for a 3B file: the check fails before any data is touched.
    state = build_dit(DIT_3B).state_dict()
    preset = get_preset("seedvr2-7b")
    with pytest.raises(CheckpointError) as info:
        _load_into(build_dit(preset.dit), state, device=torch.device("cpu"), dtype=torch.float32, what="DiT",
                   source="seedvr2_ema_3b.pth", preset=preset)
    message = str(info.value)
    assert "missing key(s)" in message and "unexpected key(s)" in message and "shape mismatch" in message
    assert "seedvr2-3b, seedvr-3b" in message


def test_missing_and_truncated_files(tmp_path, tiny):
    folder = _write_folder(tmp_path / "w", tiny)
    (folder / "neg_emb.pt").unlink()
    with pytest.raises(CheckpointError, match="neg_emb.pt"):
        load_models("tiny-v2", folder)
    folder = _write_folder(tmp_path / "t", tiny)
    data = (folder / "vae.safetensors").read_bytes()
    (folder / "vae.safetensors").write_bytes(data[:-1000])
    with pytest.raises(CheckpointError, match="truncated"):
        load_models("tiny-v2", folder)


def test_text_embedding_width_is_checked(tmp_path, tiny):
    folder = _write_folder(tmp_path / "w", tiny)
    torch.save(torch.zeros(5, 7), folder / "pos_emb.pt")
    with pytest.raises(CheckpointError, match="width 7"):
        load_models("tiny-v2", folder)


def test_released_preset_without_weights_says_what_to_download():
    with pytest.raises(ConfigError, match="seedvr2_ema_3b.pth"):
        load_models("seedvr2-3b")


def test_random_init_is_deterministic(tiny):
    again = load_models("tiny-v2")
    _assert_same_weights(tiny.dit, again.dit, torch.float32)
    assert torch.equal(tiny.neg_emb, again.neg_emb) and tiny.neg_emb.shape == (64, 96)


def test_fp32_load_on_cpu_assigns_the_mapped_tensors_without_copying(tmp_path, tiny):
    from seedvr.checkpoints.build import build_vae
    from seedvr.checkpoints.state_dict import read_state_dict

    path = save_state_dict(tiny.vae, tmp_path / "vae.pth")
    state = read_state_dict(path)
    preset = get_preset("tiny-v2")
    model = _load_into(build_vae(preset.vae), state, device=torch.device("cpu"), dtype=torch.float32,
                       what="VAE", source=str(path), preset=preset)
    for name, param in model.named_parameters():
        assert param.data_ptr() == state[name].data_ptr(), name
