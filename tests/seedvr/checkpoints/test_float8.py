"""float8 safetensors: plain casts and scaled files, dequantised at load or kept fp8 in the Linear layers."""

import pytest
import torch
from safetensors.torch import save_file

from seedvr.checkpoints.loading import load_models, save_state_dict
from seedvr.checkpoints.quantized import float8_state, quantize_float8, split_scales
from seedvr.errors import CheckpointError, ConfigError
from seedvr.models.dit.fp8_linear import Float8Linear
from seedvr.models.precision import float32_keys


@pytest.fixture(scope="module")
def tiny():
    return load_models("tiny-v2")


@pytest.fixture(scope="module")
def inputs():
    g = torch.Generator().manual_seed(0)
    return (torch.randn(2 * 8 * 8, 33, generator=g), torch.randn(5, 96, generator=g), torch.tensor([[2, 8, 8]]),
            torch.tensor([[5]]), torch.tensor([500.0]))


def _folder(tmp_path, tiny, state):
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "dit.safetensors"))
    save_state_dict(tiny.vae, tmp_path / "vae.safetensors")
    torch.save(tiny.pos_emb, tmp_path / "pos_emb.pt")
    torch.save(tiny.neg_emb, tmp_path / "neg_emb.pt")
    return tmp_path


def _rel(out, ref):
    return float((out.float() - ref).abs().max() / ref.abs().max())


@pytest.mark.parametrize("scaling", ["none", "tensor", "channel"])
def test_fp8_files_load_and_on_the_fly_equals_dequantised(tmp_path, tiny, inputs, scaling):
    folder = _folder(tmp_path, tiny, float8_state(tiny.dit.state_dict(), scaling))
    with torch.no_grad():
        ref = tiny.dit(*inputs)
        at_load = load_models("tiny-v2", folder, dtype=torch.bfloat16).dit
        lazy = load_models("tiny-v2", folder, dtype=torch.bfloat16, fp8="on_the_fly").dit
        a, b = at_load(*inputs), lazy(*inputs)
    assert torch.equal(a, b)  # the same single rounding, once at load or at every call
    assert _rel(a, ref) < 0.1  # random tiny weights quantised to 3 mantissa bits
    linears = [m for m in lazy.modules() if isinstance(m, Float8Linear)]
    assert linears and all(m.weight.dtype == torch.float8_e4m3fn for m in linears)
    assert not any(isinstance(m, Float8Linear) for m in at_load.modules())
    # fp32-kept parameters are dequantised to fp32, never kept fp8; RoPE frequencies are recomputed exactly.
    params = dict(lazy.named_parameters())
    assert all(params[k].dtype == torch.float32 for k in float32_keys(lazy))
    for name, buf in lazy.named_buffers():
        if name.endswith("rope.freqs"):
            assert torch.equal(buf, dict(tiny.dit.named_buffers())[name])


def test_on_the_fly_weights_stay_fp8_through_casts_and_moves(tmp_path, tiny, inputs):
    folder = _folder(tmp_path, tiny, float8_state(tiny.dit.state_dict(), "channel"))
    dit = load_models("tiny-v2", folder, fp8="on_the_fly").dit.bfloat16().to("cpu")
    layer = dit.blocks[0].mlp.vid.proj_in
    assert layer.weight.dtype == torch.float8_e4m3fn and layer.weight_scale.dtype == torch.float32
    assert layer.weight_scale.shape == (layer.out_features, 1) and dit.compute_dtype == torch.bfloat16
    with torch.no_grad():
        assert dit(*inputs).dtype == torch.bfloat16


def test_scaled_quantisation_is_closer_than_a_plain_cast():
    w = torch.randn(64, 256) * 0.01  # Linear-like magnitudes: mostly fp8 subnormals when cast as they are
    q, scale = quantize_float8(w, per_channel=True)
    plain = w.to(torch.float8_e4m3fn).float()
    assert (q.float() * scale - w).abs().max() < (plain - w).abs().max()


@pytest.mark.parametrize(("edit", "match"), [
    (lambda s: s.pop("blocks.0.attn.proj_out.vid.weight_scale"), "have no scale"),
    (lambda s: s.__setitem__("blocks.0.attn.proj_out.vid.weight_scale", torch.ones(3)), r"shape \[3\]"),
    (lambda s: s.__setitem__("blocks.0.attn.proj_out.vid.weight_scale", -torch.ones(())), "non-positive"),
    (lambda s: s.__setitem__("vid_out_norm.weight_scale", torch.ones(())), "only valid for float8"),
])
def test_bad_scales_are_one_line_errors_naming_the_file(edit, match):
    state = float8_state({"blocks.0.attn.proj_out.vid.weight": torch.randn(8, 4),
                          "blocks.1.attn.proj_out.vid.weight": torch.randn(8, 4)}, "channel")
    state["vid_out_norm.weight"] = torch.ones(4)
    edit(state)
    with pytest.raises(CheckpointError, match=match) as info:
        split_scales(state, "dit_fp8.safetensors")
    assert "dit_fp8.safetensors" in str(info.value) and "\n" not in str(info.value)


def test_unknown_fp8_mode_is_refused():
    with pytest.raises(ConfigError, match="fp8 must be one of dequantize, on_the_fly"):
        load_models("tiny-v2", fp8="keep")


def test_mixed_files_keep_their_fp16_blocks_as_plain_linears(tmp_path, tiny, inputs):
    # The community 7B fp8 files keep their last block in fp16.
    state = {k: v.half() if k.startswith("blocks.3.") else v.to(torch.float8_e4m3fn)
             for k, v in tiny.dit.state_dict().items()}
    dit = load_models("tiny-v2", _folder(tmp_path, tiny, state), dtype=torch.bfloat16, fp8="on_the_fly").dit
    assert isinstance(dit.blocks[0].attn.proj_qkv.vid, Float8Linear)
    assert type(dit.blocks[3].attn.proj_qkv.all) is torch.nn.Linear
    assert dit.blocks[3].attn.proj_qkv.all.weight.dtype == torch.bfloat16
    with torch.no_grad():
        assert torch.isfinite(dit(*inputs)).all()
