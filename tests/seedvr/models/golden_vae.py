"""Golden-fixture handler for the causal video VAE (fixtures `vae_*` of the reference data).

Used by the generic golden test: `matches(fixture)` recognises a VAE fixture from its JSON, and
`run_case(fixture, case, tensors)` returns (ours, reference) pairs for the checked outputs.
"""

from __future__ import annotations

import torch

from seedvr.models.vae import VAEConfig, VideoVAE

CHECKED = ("moments", "moments_sliced", "decoded", "decoded_sliced")

# Reference options this implementation reproduces; any other value means a different model.
_REQUIRED = {
    "act_fn": "silu",
    "inflation_mode": "pad",
    "use_quant_conv": False,
    "use_post_quant_conv": False,
}


def matches(fixture: dict) -> bool:
    """A VAE fixture: its config has encoder block widths and latent channels (DiT configs do not)."""
    cfg = fixture.get("config", {})
    return "block_out_channels" in cfg and "latent_channels" in cfg


def config_from_reference(ref: dict) -> VAEConfig:
    """Translate the reference's config vocabulary into a VAEConfig, refusing options we do not model."""
    for key, want in _REQUIRED.items():
        if key in ref and ref[key] != want:
            raise ValueError(f"reference VAE option {key}={ref[key]!r} is not supported (expected {want!r})")
    for kind in ("down_block_types", "up_block_types"):
        if any(t not in ("DownEncoderBlock3D", "UpDecoderBlock3D") for t in ref.get(kind, ())):
            raise ValueError(f"unsupported {kind}: {ref[kind]}")
    tdf = int(ref.get("temporal_downsample_factor", 4))
    slice_frames = int(ref.get("slicing_sample_min_size", 4))
    return VAEConfig(
        block_out_channels=tuple(int(c) for c in ref["block_out_channels"]),
        in_channels=int(ref.get("in_channels", 3)),
        out_channels=int(ref.get("out_channels", 3)),
        latent_channels=int(ref["latent_channels"]),
        layers_per_block=int(ref.get("layers_per_block", 2)),
        norm_num_groups=int(ref.get("norm_num_groups", 32)),
        temporal_scale_num=int(ref.get("temporal_scale_num", 2)),
        spatial_downsample_factor=int(ref.get("spatial_downsample_factor", 8)),
        temporal_downsample_factor=tdf,
        encode_slice_frames=slice_frames,
        decode_slice_latents=max(slice_frames // tdf, 1),
    )


def build_model(fixture: dict, tensors: dict[str, torch.Tensor]) -> VideoVAE:
    """The VAE of the fixture's config with its `state.*` weights loaded strictly, in fp32 eval mode."""
    model = VideoVAE(config_from_reference(fixture["config"]))
    state = {k[len("state.") :]: v for k, v in tensors.items() if k.startswith("state.")}
    model.load_state_dict(state, strict=True)
    return model.float().eval()


# The last fixture's model: cases of one fixture share weights, so build it once per fixture.
_LAST: list[tuple[dict, VideoVAE]] = []


def run_case(
    fixture: dict, case_name: str, tensors: dict[str, torch.Tensor]
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Encode `x` and decode `z` whole and sliced; pair each with the reference tensor."""
    if not _LAST or _LAST[0][0] is not tensors:
        _LAST[:] = [(tensors, build_model(fixture, tensors))]
    model = _LAST[0][1]
    case = {k.rsplit(".", 1)[1]: v for k, v in tensors.items() if k.startswith(f"case.{case_name}.")}
    x, z = case["x"].float(), case["z"].float()
    with torch.inference_mode():
        ours = {
            "moments": model.encode_moments(x, sliced=False),
            "moments_sliced": model.encode_moments(x, sliced=True),
            "decoded": model.decode(z, sliced=False),
            "decoded_sliced": model.decode(z, sliced=True),
        }
    return {name: (ours[name], case[name]) for name in CHECKED}
