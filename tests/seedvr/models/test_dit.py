"""NaDiT structure, packing invariants, quirks and input validation (tiny configs, CPU)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from seedvr.errors import InputError
from seedvr.models.dit.config import DIT_3B, DIT_7B, DIT_TINY_V1, DIT_TINY_V2, DiTConfig
from seedvr.models.dit.nadit import NaDiT
from seedvr.models.rope import rope_frequencies

MANIFEST = Path(__file__).resolve().parents[3].parent / "shared/reference/checkpoint_keys.json"


def make_inputs(cfg: DiTConfig, shapes: list[tuple[int, int, int]], txt_lens: list[int], seed: int = 0,
                timestep: float = 500.0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    n_vid = sum(t * h * w for t, h, w in shapes)
    vid = torch.randn(n_vid, cfg.vid_in_channels, generator=g)
    txt = torch.randn(sum(txt_lens), cfg.txt_in_dim, generator=g)
    return (vid, txt, torch.tensor(shapes), torch.tensor(txt_lens)[:, None],
            torch.full((len(shapes),), timestep))


def tiny(cfg: DiTConfig, seed: int = 0, **overrides: object) -> NaDiT:
    torch.manual_seed(seed)
    return NaDiT(dataclasses.replace(cfg, **overrides) if overrides else cfg).eval()


def run_alone(model: NaDiT, vid, txt, vid_shape, txt_shape, timestep) -> torch.Tensor:  # noqa: ANN001
    """Each sample of a packed batch through the model on its own, concatenated."""
    outs, v0, t0 = [], 0, 0
    for i in range(vid_shape.shape[0]):
        nv, nt = int(vid_shape[i].prod()), int(txt_shape[i, 0])
        outs.append(model(vid[v0:v0 + nv], txt[t0:t0 + nt], vid_shape[i:i + 1], txt_shape[i:i + 1],
                          timestep[i:i + 1]))
        v0, t0 = v0 + nv, t0 + nt
    return torch.cat(outs)


@pytest.mark.skipif(not MANIFEST.is_file(), reason=f"checkpoint manifest {MANIFEST} not found")
@pytest.mark.parametrize(("cfg", "key"), [(DIT_3B, "dit_3b"), (DIT_7B, "dit_7b")], ids=["3b", "7b"])
def test_state_dict_matches_released_checkpoint(cfg: DiTConfig, key: str) -> None:
    manifest = json.loads(MANIFEST.read_text())[key]
    with torch.device("meta"):
        model = NaDiT(cfg)
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    want = manifest["keys"]
    assert sorted(set(want) - set(ours)) == [], "missing keys"
    assert sorted(set(ours) - set(want)) == [], "unexpected keys"
    assert {k: s for k, s in ours.items() if want[k] != s} == {}, "shape mismatches"
    assert len(ours) == manifest["tensors"]
    assert sum(v.numel() for v in model.state_dict().values()) == manifest["parameters"]


def test_rope_buffers_are_recomputed_after_a_quantised_load() -> None:
    model = tiny(DIT_TINY_V2)
    inputs = make_inputs(DIT_TINY_V2, [(2, 8, 12)], [5])
    with torch.no_grad():
        ref = model(*inputs)
    state = model.state_dict()
    for k in state:
        if k.endswith("rope.rope.freqs"):  # what an fp8 file stores
            state[k] = state[k].to(torch.float8_e4m3fn)
    model.load_state_dict(state, assign=True)
    assert model.blocks[0].attn.rope.freqs.dtype == torch.float8_e4m3fn
    model.reset_rope_buffers()
    f = model.blocks[0].attn.rope.freqs
    assert f.dtype == torch.float32
    assert torch.equal(f, rope_frequencies("lang", DIT_TINY_V2.rope_axis_dim))
    with torch.no_grad():
        assert torch.equal(model(*inputs), ref)


def test_rope_freqs_stay_float32_when_model_is_cast() -> None:
    model = tiny(DIT_TINY_V1).to(torch.bfloat16)
    assert model.vid_in.proj.weight.dtype == torch.bfloat16
    f = model.blocks[1].attn.rope.freqs
    assert f.dtype == torch.float32 and torch.equal(f, rope_frequencies("pixel", DIT_TINY_V1.rope_axis_dim))


@pytest.mark.parametrize("cfg", [DIT_TINY_V1, dataclasses.replace(DIT_TINY_V2, batch_text_quirk=False)],
                         ids=["v1", "v2-independent"])
def test_packed_batch_equals_samples_alone(cfg: DiTConfig) -> None:
    model = tiny(cfg)
    inputs = make_inputs(cfg, [(3, 10, 18), (2, 12, 12), (1, 4, 30)], [7, 4, 9])
    with torch.no_grad():
        batched = model(*inputs)
        alone = run_alone(model, *inputs)
    torch.testing.assert_close(batched, alone, rtol=1e-5, atol=1e-5)


def test_v2_reference_batch_quirk_only_changes_later_samples() -> None:
    """The reference 3B mixes text q/k across samples; sample 0 is unaffected, later samples differ."""
    quirky, clean = tiny(DIT_TINY_V2, seed=3), tiny(DIT_TINY_V2, seed=3, batch_text_quirk=False)
    vid, txt, vid_shape, txt_shape, timestep = make_inputs(DIT_TINY_V2, [(2, 10, 18), (2, 12, 12)], [6, 8])
    n0 = 2 * 10 * 18
    with torch.no_grad():
        a = quirky(vid, txt, vid_shape, txt_shape, timestep)
        b = clean(vid, txt, vid_shape, txt_shape, timestep)
        solo = quirky(vid[:n0], txt[:6], vid_shape[:1], txt_shape[:1], timestep[:1])
    torch.testing.assert_close(a[:n0], b[:n0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(a[:n0], solo, rtol=1e-5, atol=1e-5)
    assert (a[n0:] - b[n0:]).abs().max() > 1e-3


@pytest.mark.parametrize("cfg", [DIT_TINY_V1, DIT_TINY_V2], ids=["v1", "v2"])
@pytest.mark.parametrize("shape", [(1, 2, 64), (2, 36, 4), (5, 6, 10), (3, 2, 2)], ids=str)
def test_odd_aspect_ratios(cfg: DiTConfig, shape: tuple[int, int, int]) -> None:
    model = tiny(cfg)
    inputs = make_inputs(cfg, [shape], [3])
    with torch.no_grad():
        out = model(*inputs)
    assert out.shape == (shape[0] * shape[1] * shape[2], cfg.vid_out_channels)
    assert torch.isfinite(out).all()


def test_forward_is_deterministic_and_plan_cache_is_transparent() -> None:
    model = tiny(DIT_TINY_V2)
    a_in = make_inputs(DIT_TINY_V2, [(2, 8, 10)], [4], seed=1)
    b_in = make_inputs(DIT_TINY_V2, [(1, 6, 6), (2, 4, 8)], [3, 5], seed=2)
    with torch.no_grad():
        first = model(*a_in)
        model(*b_in)  # another shape in between
        again = model(*a_in)
        model._plans.clear()
        fresh = model(*a_in)
    assert torch.equal(first, again) and torch.equal(first, fresh)


def test_timestep_changes_the_output() -> None:
    model = tiny(DIT_TINY_V1)
    vid, txt, vs, ts, _ = make_inputs(DIT_TINY_V1, [(1, 6, 8)], [3])
    with torch.no_grad():
        assert not torch.allclose(model(vid, txt, vs, ts, torch.tensor([0.0])),
                                  model(vid, txt, vs, ts, torch.tensor([999.0])))


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda a: {**a, "vid_shape": torch.tensor([[2, 7, 8]])}, r"multiples of 2"),
        (lambda a: {**a, "vid_shape": torch.tensor([[2, 6, 8]])}, r"vid has 128 tokens but vid_shape sums to 96"),
        (lambda a: {**a, "vid": a["vid"][:, :32]}, r"vid must have shape \[sum\(T\*H\*W\), 33\]"),
        (lambda a: {**a, "txt": a["txt"][:, :50]}, r"txt must have shape \[sum\(L\), 96\]"),
        (lambda a: {**a, "txt_shape": torch.tensor([[4]])}, r"txt has 3 tokens but txt_shape sums to 4"),
        (lambda a: {**a, "vid_shape": torch.tensor([[2.0, 8, 8]])}, r"vid_shape must be an integer tensor"),
        (lambda a: {**a, "txt_shape": torch.tensor([3])}, r"txt_shape must be an integer tensor of shape \[B, 1\]"),
        (lambda a: {**a, "timestep": torch.tensor([1.0, 2.0])}, r"timestep must have shape \[B\] = \[1\]"),
        (lambda a: {**a, "vid_shape": torch.tensor([[0, 8, 8]])}, r">= 1"),
    ],
    ids=["odd-latent", "token-count", "vid-channels", "txt-channels", "txt-count", "float-shape",
         "txt-shape-rank", "timestep", "empty"],
)
def test_bad_inputs_raise_value_errors(mutate, match: str) -> None:  # noqa: ANN001
    model = tiny(DIT_TINY_V2)
    vid, txt, vs, ts, t = make_inputs(DIT_TINY_V2, [(2, 8, 8)], [3])
    args = mutate({"vid": vid, "txt": txt, "vid_shape": vs, "txt_shape": ts, "timestep": t})
    with pytest.raises(InputError, match=match) as err:
        model(**args)
    assert isinstance(err.value, ValueError) and err.value.error_class == "input"


def test_config_validates_backend() -> None:
    with pytest.raises(ValueError, match="attention_backend"):
        dataclasses.replace(DIT_TINY_V2, attention_backend="cudnn")


def test_flops_match_the_derived_720p_figures() -> None:
    """1280x720x121 frames (latent 31x90x160, 58 text tokens): 3B ~0.57 + 0.10 PFLOP, 7B ~0.91 + 0.13."""
    from seedvr.models.dit.flops import dit_flops

    for cfg, linear, attention in ((DIT_3B, 0.57e15, 0.10e15), (DIT_7B, 0.91e15, 0.13e15)):
        f = dit_flops(cfg, [(31, 90, 160)], [58])
        assert f["linear"] == pytest.approx(linear, rel=0.02)
        assert f["attention"] == pytest.approx(attention, rel=0.05)
        assert f["total"] == f["linear"] + f["attention"]


def test_backward_works_after_an_inference_mode_call() -> None:
    """Plans cached by an inference_mode call must not break a later autograd call (e.g. fine-tuning)."""
    model = tiny(DIT_TINY_V2)
    inputs = make_inputs(DIT_TINY_V2, [(1, 6, 8)], [3])
    with torch.inference_mode():
        model(*inputs)
    model(*inputs).square().mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads[:10])
    assert model.vid_in.proj.weight.grad.abs().sum() > 0
