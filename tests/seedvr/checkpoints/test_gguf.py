"""GGUF DiT files (Q8_0, F16, BF16, F32 tensors) read through the optional gguf package."""

import numpy as np
import pytest
import torch

from seedvr.checkpoints.gguf_file import PREFIX
from seedvr.checkpoints.loading import load_models, save_state_dict
from seedvr.checkpoints.state_dict import read_state_dict
from seedvr.errors import CheckpointError

gguf = pytest.importorskip("gguf")
Q = gguf.GGMLQuantizationType


def _qtype(key: str, value: torch.Tensor):
    """Q8_0 for 2-D weights whose rows hold whole 32-value blocks, BF16 / F16 for a few, F32 for the rest."""
    if value.ndim == 2 and value.shape[1] % 32 == 0:
        return Q.Q8_0
    if value.ndim == 2:
        return Q.BF16
    return Q.F16 if key.endswith("_gate") else Q.F32


def write_gguf(path, state: dict[str, torch.Tensor], *, prefix: str = PREFIX, qtype=_qtype) -> dict:
    """Write `state` as GGUF; returns {key: the values a reader must get back} (fp32)."""
    writer = gguf.GGUFWriter(str(path), "seedvr")
    expected = {}
    for key, value in state.items():
        arr = value.detach().float().numpy()
        kind = qtype(key, value)
        if kind == Q.F32:
            data = arr
        elif kind == Q.F16:
            data = arr.astype(np.float16)
        else:
            data = gguf.quants.quantize(arr, kind)
        writer.add_tensor(prefix + key, data, raw_dtype=kind if kind not in (Q.F32, Q.F16) else None)
        expected[key] = torch.from_numpy(gguf.quants.dequantize(data, kind)).reshape(value.shape).float()
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return expected


@pytest.fixture(scope="module")
def tiny():
    return load_models("tiny-v2")


def test_gguf_dit_loads_its_dequantised_values(tmp_path, tiny):
    expected = write_gguf(tmp_path / "dit.gguf", tiny.dit.state_dict())
    state = read_state_dict(tmp_path / "dit.gguf")
    assert state.keys() == expected.keys()
    assert any(v.dtype == torch.bfloat16 for v in state.values()) and any(v.dtype == torch.float16 for v in state.values())
    for key, value in state.items():
        assert torch.equal(value.float(), expected[key]), key
    save_state_dict(tiny.vae, tmp_path / "vae.safetensors")
    torch.save(tiny.pos_emb, tmp_path / "pos_emb.pt")
    torch.save(tiny.neg_emb, tmp_path / "neg_emb.pt")
    dit = load_models("tiny-v2", tmp_path / "dit.gguf").dit
    g = torch.Generator().manual_seed(0)
    args = (torch.randn(128, 33, generator=g), torch.randn(5, 96, generator=g), torch.tensor([[2, 8, 8]]),
            torch.tensor([[5]]), torch.tensor([500.0]))
    with torch.no_grad():
        ref, out = tiny.dit(*args), dit(*args)
    assert float((out - ref).abs().max() / ref.abs().max()) < 2e-2  # Q8_0: 8-bit blocks with an fp16 scale


def test_unprefixed_names_are_read_as_they_are(tmp_path):
    write_gguf(tmp_path / "w.gguf", {"vid_in.proj.weight": torch.randn(4, 64)}, prefix="")
    assert list(read_state_dict(tmp_path / "w.gguf")) == ["vid_in.proj.weight"]


def test_a_quant_type_gguf_cannot_dequantise_is_a_one_line_error(tmp_path):
    writer = gguf.GGUFWriter(str(tmp_path / "q81.gguf"), "seedvr")
    block_bytes = gguf.GGML_QUANT_SIZES[Q.Q8_1][1]
    writer.add_tensor("vid_in.proj.weight", np.zeros((4, block_bytes), dtype=np.uint8), raw_dtype=Q.Q8_1)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(CheckpointError, match=r"q81\.gguf: tensor vid_in\.proj\.weight uses GGUF type Q8_1") as info:
        read_state_dict(tmp_path / "q81.gguf")
    assert "\n" not in str(info.value)


def test_a_truncated_gguf_file_says_so(tmp_path):
    write_gguf(tmp_path / "w.gguf", {"vid_in.proj.weight": torch.randn(4, 64)})
    data = (tmp_path / "w.gguf").read_bytes()
    (tmp_path / "w.gguf").write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError, match="w.gguf"):
        read_state_dict(tmp_path / "w.gguf")
