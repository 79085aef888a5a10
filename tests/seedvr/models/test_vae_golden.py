"""The VAE golden handler's own logic; the numeric cases run in test_golden.py (fp32, rel. error < 1e-4)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

GOLDEN = Path("/work/shared/reference/golden")


def _handler():
    path = Path(__file__).with_name("golden_vae.py")
    spec = importlib.util.spec_from_file_location("golden_vae_local", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fixture_and_tensors():
    if not (GOLDEN / "vae_tiny.json").exists():
        pytest.skip("golden fixtures not available")
    from safetensors.torch import load_file

    return json.loads((GOLDEN / "vae_tiny.json").read_text()), load_file(GOLDEN / "vae_tiny.safetensors")


def test_handler_recognises_only_vae_fixtures(fixture_and_tensors) -> None:
    handler = _handler()
    fixture, _ = fixture_and_tensors
    assert handler.matches(fixture)
    for other in GOLDEN.glob("dit_*.json"):
        assert not handler.matches(json.loads(other.read_text()))


def test_unsupported_reference_option_is_refused(fixture_and_tensors) -> None:
    handler = _handler()
    fixture, _ = fixture_and_tensors
    with pytest.raises(ValueError, match="use_quant_conv"):
        handler.config_from_reference({**fixture["config"], "use_quant_conv": True})


def test_model_from_fixture_loads_strictly(fixture_and_tensors) -> None:
    handler = _handler()
    fixture, tensors = fixture_and_tensors
    model = handler.build_model(fixture, tensors)
    assert model.cfg.block_out_channels == tuple(fixture["config"]["block_out_channels"])
    # A missing weight must fail loudly rather than leave a random tensor behind.
    broken = {k: v for k, v in tensors.items() if not k.endswith("conv_out.weight")}
    with pytest.raises(RuntimeError, match="conv_out.weight"):
        handler.build_model(fixture, broken)
    assert torch.equal(model.encoder.conv_in.weight, tensors["state.encoder.conv_in.weight"])
