"""Parity with the reference implementation on every golden fixture.

Fixtures are `<name>.json` + `<name>.safetensors` pairs in $SEEDVR_GOLDEN_DIR (default:
<repo>/../shared/reference/golden). Each `golden_<kind>.py` module beside this file is a handler with
`matches(fixture) -> bool` and `run_case(fixture, case_name, tensors) -> {output: (ours, reference)}`.
Every case of every fixture must be claimed by exactly one handler and agree to max|ours-ref|/max|ref| < 1e-4.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType

import pytest
import torch
from safetensors.torch import load_file

HERE = Path(__file__).resolve().parent
GOLDEN_DIR = Path(os.environ.get("SEEDVR_GOLDEN_DIR") or HERE.parents[2].parent / "shared/reference/golden")
TOLERANCE = 1e-4


def _load_handlers() -> dict[str, ModuleType]:
    handlers = {}
    for path in sorted(HERE.glob("golden_*.py")):
        spec = importlib.util.spec_from_file_location(f"seedvr_golden_handlers.{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if not (callable(getattr(module, "matches", None)) and callable(getattr(module, "run_case", None))):
            raise TypeError(f"{path.name} must define matches(fixture) and run_case(fixture, case, tensors)")
        handlers[path.stem] = module
    return handlers


HANDLERS = _load_handlers()


def _fixtures() -> list[tuple[str, dict]]:
    pairs = []
    for js in sorted(GOLDEN_DIR.glob("*.json")) if GOLDEN_DIR.is_dir() else []:
        if js.with_suffix(".safetensors").is_file():
            pairs.append((js.stem, json.loads(js.read_text())))
    return pairs


def _params() -> list:
    if not GOLDEN_DIR.is_dir():
        reason = f"golden fixture folder {GOLDEN_DIR} not found; set SEEDVR_GOLDEN_DIR to the folder of *.json + *.safetensors"
        return [pytest.param(None, None, None, marks=pytest.mark.skip(reason=reason), id="no-golden-dir")]
    params = [pytest.param(name, fixture, case, id=f"{name}-{case}")
              for name, fixture in _fixtures() for case in fixture.get("cases", {})]
    if not params:
        reason = f"no *.json + *.safetensors pairs with cases in {GOLDEN_DIR} (SEEDVR_GOLDEN_DIR)"
        return [pytest.param(None, None, None, marks=pytest.mark.skip(reason=reason), id="no-fixtures")]
    return params


@functools.lru_cache(maxsize=2)
def _tensors(name: str) -> dict[str, torch.Tensor]:
    return load_file(str(GOLDEN_DIR / f"{name}.safetensors"))


def handler_for(name: str, fixture: dict) -> ModuleType:
    claimed = [h for h in HANDLERS.values() if h.matches(fixture)]
    if len(claimed) != 1:
        pytest.fail(
            f"golden fixture {name!r} (reference_module={fixture.get('reference_module')!r}) is claimed by "
            f"{[h.__name__ for h in claimed] or 'no handler'}; available: {sorted(HANDLERS)}"
        )
    return claimed[0]


@pytest.mark.parametrize(("name", "fixture", "case"), _params())
def test_golden_case(name: str, fixture: dict, case: str) -> None:
    handler = handler_for(name, fixture)
    results = handler.run_case(fixture, case, _tensors(name))
    assert results, f"{handler.__name__} returned no outputs for {name}/{case}"
    for output, (ours, ref) in results.items():
        assert ours.shape == ref.shape, f"{name}/{case}/{output}: shape {tuple(ours.shape)} != {tuple(ref.shape)}"
        ours, ref = ours.detach().float().cpu(), ref.float()
        assert torch.isfinite(ours).all(), f"{name}/{case}/{output}: non-finite values"
        rel = float((ours - ref).abs().max() / ref.abs().max().clamp_min(1e-30))
        assert rel < TOLERANCE, f"{name}/{case}/{output}: max|ours-ref|/max|ref| = {rel:.3e} >= {TOLERANCE}"
