import numpy as np
import pytest
import torch
from einops import rearrange

from seedvr.errors import ConfigError, InputError, OutOfMemoryError
from seedvr.models.vae.tiling import VAETiling
from seedvr.restorer import ClipRestorer, IdentityRestorer, Restorer, TargetSize, load_restorer


@pytest.fixture(scope="module")
def v2():
    return ClipRestorer.from_preset("tiny-v2")


def _frames(t=5, h=16, w=16, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    # Smooth content plus noise, so colour statistics mean something.
    base = np.linspace(0, 1, w)[None, None, :, None] * np.array([0.8, 0.5, 0.2])
    clip = base + 0.1 * rng.standard_normal((t, h, w, 3))
    return (np.clip(clip, 0, 1) * np.iinfo(dtype).max).round().astype(dtype)


def test_same_seed_same_output_and_different_seed_differs(v2):
    frames = _frames()
    a = v2.restore(frames, seed=7)
    assert a.shape == frames.shape and a.dtype == np.uint8
    assert np.array_equal(a, v2.restore(frames, seed=7))
    assert not np.array_equal(a, v2.restore(frames, seed=8))
    assert isinstance(v2, Restorer)


def test_wiring_matches_a_hand_written_one_step_pipeline():
    r = ClipRestorer.from_preset("tiny-v2", posterior="mode", color_fix="none")
    frames = _frames(t=5, h=16, w=32)
    out = r.restore(frames, seed=3)

    vae, dit, scale = r.models.vae, r.models.dit, r.models.vae.cfg.scaling_factor
    x = torch.from_numpy(frames).float().div(255).mul(2).sub(1)
    z = vae.encode(rearrange(x, "t h w c -> 1 c t h w"), sample=False) * scale
    cond = rearrange(z, "1 c t h w -> t h w c")
    noise = torch.randn(cond.shape, generator=torch.Generator().manual_seed(3))
    vid = torch.cat([noise, cond, torch.ones_like(cond[..., :1])], -1)
    t_, h, w, _ = cond.shape
    v = dit(rearrange(vid, "t h w c -> (t h w) c"), r.models.pos_emb, torch.tensor([[t_, h, w]]),
            torch.tensor([[r.models.pos_emb.shape[0]]]), torch.tensor([1000.0]))
    x0 = noise - rearrange(v, "(t h w) c -> t h w c", t=t_, h=h, w=w)
    decoded = vae.decode(rearrange(x0 / scale, "t h w c -> 1 c t h w"))
    expected = ((rearrange(decoded[0], "c t h w -> t h w c").clamp(-1, 1) + 1) * 127.5).round().numpy()
    assert np.abs(out.astype(np.int32) - expected.astype(np.int32)).max() <= 1


def test_odd_sizes_frame_counts_and_uint16(v2):
    frames = _frames(t=3, h=9, w=13, dtype=np.uint16)
    out = v2.restore(frames, seed=0, target=TargetSize.by_scale(2))
    assert out.shape == (3, 18, 26, 3) and out.dtype == np.uint16
    assert out.max() > 255  # full 16-bit scale, not 8-bit values in a 16-bit container
    single = v2.restore(_frames(t=1), seed=0, target=TargetSize.by_short_side(8))
    assert single.shape == (1, 8, 8, 3)  # downscale path


@pytest.mark.parametrize("mode", ["replicate", "reflect"])
def test_model_input_pads_space_and_time_without_touching_the_content(v2, mode):
    from seedvr.restorer.lq import LQFrames
    from seedvr.restorer.padding import SpatialPad

    r = ClipRestorer(v2.preset.with_sampling(spatial_pad=mode), v2.models, device=v2.device, dtype=v2.dtype)
    frames = _frames(t=3, h=9, w=20)
    lq = LQFrames(frames, torch.device("cpu"), 9, 20)
    x = r._model_input(lq, SpatialPad.for_size(9, 20))
    assert x.shape == (1, 3, 5, 16, 32)
    torch.testing.assert_close(x[0, :, :3, :9, :20], rearrange(lq.chunk(0, 3), "t c h w -> c t h w"))
    assert torch.equal(x[0, :, 3], x[0, :, 2]) and torch.equal(x[0, :, 4], x[0, :, 2])  # last frame repeated
    edge = x[0, :, 0, :9, 20]
    assert torch.equal(edge, x[0, :, 0, :9, 18] if mode == "reflect" else x[0, :, 0, :9, 19])


def test_wavelet_colour_fix_pulls_colours_to_the_input(v2):
    frames = _frames()
    fixed = v2.restore(frames, seed=1).astype(float)
    raw = ClipRestorer(v2.preset.with_sampling(color_fix="none"), v2.models, device=v2.device,
                       dtype=v2.dtype).restore(frames, seed=1).astype(float)
    target = frames.astype(float).mean((0, 1, 2))
    assert np.abs(fixed.mean((0, 1, 2)) - target).sum() < np.abs(raw.mean((0, 1, 2)) - target).sum()


def test_adain_over_several_chunks_matches_input_statistics(v2):
    frames = _frames(t=9)  # more frames than one colour-fix chunk (8)
    r = ClipRestorer(v2.preset.with_sampling(color_fix="adain"), v2.models, device=v2.device, dtype=v2.dtype)
    out = r.restore(frames, seed=1).astype(float)
    assert out.shape == frames.shape
    np.testing.assert_allclose(out.mean((0, 1, 2)), frames.astype(float).mean((0, 1, 2)), atol=3)


def test_multistep_cfg_preset_with_overrides():
    r = ClipRestorer.from_preset("tiny-v1", steps=2, cfg_scale=3.0)
    assert r.info["sampling"]["steps"] == 2 and r.info["sampling"]["cond_noise_scale"] == 0.1
    frames = _frames()
    out = r.restore(frames, seed=5)
    assert out.shape == frames.shape and np.array_equal(out, r.restore(frames, seed=5))


def test_multistep_calls_positive_and_negative_text_at_trailing_timesteps(monkeypatch):
    r = ClipRestorer.from_preset("tiny-v1", steps=2, cfg_scale=4.0)
    calls = []
    dit = r.models.dit

    def recording(vid, txt, vid_shape, txt_shape, timestep):
        calls.append((float(timestep[0]), int(txt_shape[0, 0]), vid.shape[-1]))
        return dit(vid, txt, vid_shape, txt_shape, timestep)

    monkeypatch.setattr(r.models, "dit", recording)
    r.restore(_frames(t=1), seed=0)
    assert calls == [(1000.0, 58, 33), (1000.0, 64, 33), (500.0, 58, 33), (500.0, 64, 33)]


def test_vae_oom_retries_with_tiles(monkeypatch):
    r = ClipRestorer.from_preset("tiny-v2")
    frames = _frames(t=1, h=16, w=80)  # wider than the smallest tile, so tiling splits it
    expected = r.restore(frames, seed=2)
    original = r.models.vae.encode
    tilings = []

    def flaky_encode(x, **kwargs):
        tilings.append(kwargs.get("tiling"))
        if kwargs.get("tiling") is None:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return original(x, **kwargs)

    monkeypatch.setattr(r.models.vae, "encode", flaky_encode)
    out = r.restore(frames, seed=2)
    assert tilings[0] is None and tilings[1].tile_px == 64
    assert r.info["vae_tiling"]["tile_px"] == 64  # later clips start at the tiling that worked
    assert out.shape == expected.shape
    # Tiles overlap and blend, so values move slightly but the picture stays the same.
    assert np.abs(out.astype(int) - expected.astype(int)).mean() < 25


def test_dit_oom_becomes_a_project_error(monkeypatch, v2):
    def oom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory")

    r = ClipRestorer(v2.preset, v2.models, device=v2.device, dtype=v2.dtype)
    monkeypatch.setattr(r.models, "dit", oom)
    with pytest.raises(OutOfMemoryError, match="shorter segments") as info:
        r.restore(_frames(), seed=0)
    assert info.value.error_class == "oom"


@pytest.mark.parametrize(
    ("frames", "match"),
    [(np.zeros((0, 16, 16, 3), np.uint8), "zero frames"), (np.zeros((16, 16, 3), np.uint8), r"\(T, H, W, 3\)"),
     (np.zeros((1, 16, 16, 3), np.float32), "uint8 or uint16")],
)
def test_bad_input(v2, frames, match):
    with pytest.raises(InputError, match=match):
        v2.restore(frames, seed=0)


def test_bad_seed_and_options(v2):
    with pytest.raises(InputError, match="seed"):
        v2.restore(_frames(), seed=-1)
    with pytest.raises(ConfigError, match="attention"):
        ClipRestorer.from_preset("tiny-v2", attention="xformers")
    with pytest.raises(ConfigError, match="flash-attn"):
        ClipRestorer.from_preset("tiny-v2", device="cpu", attention="flash")
    with pytest.raises(ConfigError, match="identity"):
        ClipRestorer.from_preset("identity")


def test_vae_tiling_from_config_values():
    from seedvr.restorer.clip import coerce_tiling

    assert coerce_tiling(None) is None
    assert coerce_tiling(256) == VAETiling(256, 64) and coerce_tiling(64) == VAETiling(64, 16)
    assert coerce_tiling([128, 32]) == coerce_tiling({"tile_px": 128, "overlap_px": 32}) == VAETiling(128, 32)
    with pytest.raises(ConfigError):
        coerce_tiling("big")


def test_info_and_factory(v2):
    info = v2.info
    assert info["preset"] == "tiny-v2" and info["device"] == "cpu" and info["dtype"] == "float32"
    assert info["attention"] == "sdpa" and info["weights_sha256"]["dit"].startswith("random:")
    identity = load_restorer("identity", scale=2)
    assert isinstance(identity, IdentityRestorer)
    assert set(info) <= set(identity.info)  # one provenance schema for both restorers
    assert isinstance(load_restorer("tiny-v2"), ClipRestorer)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_output_close_to_cpu(v2):
    gpu = ClipRestorer.from_preset("tiny-v2", device="cuda")
    frames = _frames()
    diff = np.abs(gpu.restore(frames, seed=4).astype(int) - v2.restore(frames, seed=4).astype(int))
    assert diff.mean() < 8  # bf16 vs fp32, same noise from the CPU generator
