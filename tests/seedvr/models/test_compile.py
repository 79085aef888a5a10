"""Regional torch.compile: the same numbers as eager, and no recompilation for other clip sizes.

Most tests trace with dynamo's "eager" backend (graph capture, guards and graph breaks without inductor's
code generation, seconds instead of minutes on two cores); the inductor comparison is marked slow.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch._dynamo.utils import counters

from seedvr.errors import ConfigError
from seedvr.models.compile import compile_dit, compile_vae, is_compiled, resolve_compile, unavailable_reason
from seedvr.models.dit.config import DIT_TINY_V2
from seedvr.models.dit.nadit import NaDiT
from seedvr.models.vae import VAEConfig, VideoVAE

# One width everywhere: fewer kinds of resnet block, so fewer graphs to trace.
MINI_VAE = VAEConfig(block_out_channels=(8, 8, 8, 8), norm_num_groups=4)


def _dit_inputs(t: int, h: int, w: int, txt_len: int = 7) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(t * 10_000 + h * 100 + w)
    return (torch.randn(t * h * w, DIT_TINY_V2.vid_in_channels, generator=g),
            torch.randn(txt_len, DIT_TINY_V2.txt_in_dim, generator=g),
            torch.tensor([[t, h, w]]), torch.tensor([[txt_len]]), torch.tensor([500.0]))


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


def _graphs() -> int:
    return int(counters["stats"]["unique_graphs"])


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def test_resolve_compile_modes() -> None:
    assert not resolve_compile("auto", "cpu").enabled  # the CPU stays eager unless asked
    assert not resolve_compile("off", "cuda").enabled
    assert resolve_compile(False, "cpu") == resolve_compile("off", "cpu")
    with pytest.raises(ConfigError, match="compile 'fast' is not one of auto, on, off"):
        resolve_compile("fast", "cpu")
    if unavailable_reason(torch.device("cpu")) is None:
        assert resolve_compile("on", "cpu").enabled and resolve_compile(True, "cpu").enabled


def test_dit_blocks_compile_once_for_every_clip_size() -> None:
    torch.manual_seed(0)
    eager = NaDiT(DIT_TINY_V2).eval()
    compiled = copy.deepcopy(eager)
    assert compile_dit(compiled, backend="eager") == DIT_TINY_V2.num_layers
    assert compile_dit(compiled, backend="eager") == 0 and is_compiled(compiled) and not is_compiled(eager)
    with torch.inference_mode():
        for i, shape in enumerate([(2, 6, 8), (3, 10, 12)]):
            x = _dit_inputs(*shape)
            out = compiled(*x)
            if i == 0:
                graphs = _graphs()
            assert _rel(out, eager(*x)) < 1e-5, shape
    assert graphs > 0 and _graphs() == graphs  # other token counts and window layouts: no new graph


def test_vae_resnets_compile_once_for_every_clip_size() -> None:
    torch.manual_seed(0)
    eager = VideoVAE(MINI_VAE).eval()
    compiled = copy.deepcopy(eager)
    assert compile_vae(compiled, backend="eager") > 0
    with torch.inference_mode():
        for i, (t, h, w) in enumerate([(9, 32, 48), (13, 48, 40)]):
            x = torch.rand(1, 3, t, h, w, generator=torch.Generator().manual_seed(t)) * 2 - 1
            moments = compiled.encode_moments(x)
            decoded = compiled.decode(moments[:, : MINI_VAE.latent_channels])
            if i == 0:
                graphs = _graphs()
            assert _rel(moments, eager.encode_moments(x)) < 1e-5
            assert _rel(decoded, eager.decode(moments[:, : MINI_VAE.latent_channels])) < 1e-5
    assert graphs > 0 and _graphs() == graphs


@pytest.mark.slow
@pytest.mark.skipif(unavailable_reason(torch.device("cpu")) is not None, reason="inductor cannot build here")
def test_inductor_matches_eager_within_fp32_tolerance() -> None:
    torch.manual_seed(0)
    dit = NaDiT(DIT_TINY_V2).eval()
    vae = VideoVAE(MINI_VAE).eval()
    dit_c, vae_c = copy.deepcopy(dit), copy.deepcopy(vae)
    compile_dit(dit_c)
    compile_vae(vae_c)
    x = torch.rand(1, 3, 9, 32, 48, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.inference_mode():
        assert _rel(dit_c(*_dit_inputs(2, 6, 8)), dit(*_dit_inputs(2, 6, 8))) < 1e-5
        assert _rel(vae_c.encode_moments(x), vae.encode_moments(x)) < 1e-5
