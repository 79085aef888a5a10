"""Golden-fixture handler for the NaDiT fixtures (`dit_v1_*`, `dit_v2_*` of the reference data).

`matches(fixture)` recognises a DiT fixture from its JSON; `run_case(fixture, case, tensors)` builds the model
from the fixture's config (the reference's vocabulary, mapped onto `DiTConfig`), loads `state.*` strictly and
returns {"out": (ours, reference)}.
"""

from __future__ import annotations

import torch

from seedvr.models.dit.config import DiTConfig
from seedvr.models.dit.nadit import NaDiT

VERSIONS = {"models.dit.nadit": 1, "models.dit_v2.nadit": 2}
REGULAR, SHIFTED = "720pwin_by_size_bysize", "720pswin_by_size_bysize"


def matches(fixture: dict) -> bool:
    return fixture.get("reference_module") in VERSIONS


def _require(cfg: dict, key: str, want: object) -> None:
    if key in cfg and cfg[key] != want:
        raise ValueError(f"reference DiT option {key}={cfg[key]!r} is not modelled (expected {want!r})")


def config_from_reference(fixture: dict, **overrides: object) -> DiTConfig:
    """DiTConfig for the fixture's reference config, refusing options this implementation does not model."""
    ref, version = fixture["config"], VERSIONS[fixture["reference_module"]]
    layers = int(ref["num_layers"])
    dim = int(ref["vid_dim"])
    for key, want in {"ada": "single", "qk_bias": False, "norm": "fusedrms", "qk_norm": "fusedrms",
                      "txt_dim": dim, "emb_dim": 6 * dim,
                      "mlp_type": "swiglu" if version == 2 else "normal",
                      "block_type": ["mmdit_sr"] * layers,
                      "window_method": [REGULAR if i % 2 == 0 else SHIFTED for i in range(layers)]}.items():
        _require(ref, key, want)
    if version == 1:
        for key, want in {"qk_rope": True, "shared_qkv": False, "shared_mlp": False}.items():
            _require(ref, key, want)
    else:
        for key, want in {"rope_type": "mmrope3d", "vid_out_norm": "fusedrms"}.items():
            _require(ref, key, want)
    windows = {tuple(w) for w in ref.get("window", [[4, 3, 3]])}
    if len(windows) != 1:
        raise ValueError(f"per-layer window counts differ: {sorted(windows)}; DiTConfig has one for all layers")
    return DiTConfig(
        version=version,
        vid_dim=dim,
        heads=int(ref["heads"]),
        head_dim=int(ref["head_dim"]),
        num_layers=layers,
        txt_in_dim=int(ref["txt_in_dim"]),
        vid_in_channels=int(ref.get("vid_in_channels", 33)),
        vid_out_channels=int(ref.get("vid_out_channels", 16)),
        expand_ratio=int(ref.get("expand_ratio", 4)),
        norm_eps=float(ref.get("norm_eps", 1e-5)),
        patch_size=tuple(int(p) for p in ref.get("patch_size", (1, 2, 2))),
        mm_layers=int(ref["mm_layers"]) if version == 2 else None,
        num_windows=windows.pop(),
        rope_dim=int(ref.get("rope_dim") or int(ref["head_dim"]) // 2),
        **overrides,
    )


def build_model(fixture: dict, tensors: dict[str, torch.Tensor], **overrides: object) -> NaDiT:
    model = NaDiT(config_from_reference(fixture, **overrides))
    state = {k[len("state."):]: v for k, v in tensors.items() if k.startswith("state.")}
    model.load_state_dict(state, strict=True)
    return model.float().eval()


def case_inputs(case_name: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    prefix = f"case.{case_name}."
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def run_case(fixture: dict, case_name: str, tensors: dict[str, torch.Tensor]
             ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    model = build_model(fixture, tensors)
    case = case_inputs(case_name, tensors)
    with torch.no_grad():
        out = model(case["vid"], case["txt"], case["vid_shape"], case["txt_shape"], case["timestep"])
    return {"out": (out, case["out"])}
