import functools

import pytest
import torch

from seedvr.errors import CheckpointError
from seedvr.quality.dists import DISTS, _shrink, dists_distance, expected_shapes, load_dists
from seedvr.quality.optional import run_optional
from seedvr.synthetic import DegradationSpec, degrade, make_clip


def _random_state() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Fresh dicts (tests drop and replace keys) over the cached tensors."""
    vgg, heads = _cached_state()
    return dict(vgg), dict(heads)


@functools.cache
def _cached_state(seed: int = 0) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Plausible random weights under the real key names: He-initialised VGG16 convolutions (so the
    activations keep their scale through 13 layers) and positive DISTS alpha/beta."""
    gen = torch.Generator().manual_seed(seed)
    vgg: dict[str, torch.Tensor] = {}
    heads: dict[str, torch.Tensor] = {}
    for key, shape in expected_shapes().items():
        if key in ("alpha", "beta"):
            heads[key] = 0.1 + 0.01 * torch.randn(shape, generator=gen).abs()
        elif key.endswith(".weight"):
            fan_in = shape[1] * shape[2] * shape[3]
            vgg[key] = torch.randn(shape, generator=gen) * (2.0 / fan_in) ** 0.5
        else:
            vgg[key] = 0.01 * torch.randn(shape, generator=gen)
    vgg["classifier.0.weight"] = torch.zeros(4, 4)  # torchvision's file also holds the classifier
    return vgg, heads


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    root = tmp_path_factory.mktemp("dists")
    vgg, heads = _random_state()
    torch.save(vgg, root / "vgg16.pth")
    torch.save(heads, root / "weights.pt")
    return f"{root / 'vgg16.pth'},{root / 'weights.pt'}"


@pytest.fixture(scope="module")
def model(staged):
    return load_dists(staged)


@pytest.fixture(scope="module")
def frame():
    return make_clip("procedural:2", 1, (48, 48), "pan", seed=0)


def test_identical_frames_score_zero(model, frame):
    assert dists_distance(model, frame[0], frame[0]) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("field,weak,strong", [("noise_sigma", 5.0, 25.0), ("blur_sigma", 0.8, 2.5)])
def test_stronger_degradation_scores_higher(model, frame, field, weak, strong):
    def score(amount: float) -> float:
        out = degrade(frame, DegradationSpec(**{field: amount}), seed=1)
        return dists_distance(model, out[0], frame[0])

    low, high = score(weak), score(strong)
    assert 0 < low < high <= 1


def test_one_file_with_both_key_sets_and_safetensors(tmp_path, model):
    from safetensors.torch import save_file

    vgg, heads = _random_state()
    save_file({**vgg, **heads}, str(tmp_path / "dists.safetensors"))
    torch.save({**vgg, **heads}, tmp_path / "dists.pth")
    for name in ("dists.safetensors", "dists.pth"):
        loaded = load_dists(str(tmp_path / name))
        assert torch.equal(loaded.alpha, model.alpha) and torch.equal(loaded.beta, model.beta)
        assert torch.equal(loaded.convs["28"].weight, model.convs["28"].weight)


def test_missing_key_is_named():
    vgg, heads = _random_state()
    del vgg["features.14.bias"]
    with pytest.raises(CheckpointError, match=r"features\.14\.bias.*vgg16-397923af\.pth"):
        DISTS().load({**vgg, **heads})


def test_missing_alpha_beta_name_the_dists_file():
    vgg, _ = _random_state()
    with pytest.raises(CheckpointError, match=r"'alpha', 'beta'.*weights\.pt"):
        DISTS().load(vgg)


def test_wrong_shape_is_named():
    vgg, heads = _random_state()
    heads["beta"] = heads["beta"][:, :1472]
    vgg["features.7.weight"] = vgg["features.7.weight"][:, :, :1, :1]
    with pytest.raises(CheckpointError, match=r"features\.7\.weight.*\(128, 128, 3, 3\).*beta.*1475"):
        DISTS().load({**vgg, **heads})


def test_file_not_found(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_dists(str(tmp_path / "nothing.pt"))


def test_large_frames_are_downscaled_to_short_side_256():
    assert tuple(_shrink(torch.rand(1, 3, 300, 520)).shape) == (1, 3, 256, 444)
    assert tuple(_shrink(torch.rand(1, 3, 720, 256)).shape) == (1, 3, 720, 256)  # short side already 256


def test_registry_runs_dists_with_weights_and_skips_without(staged, frame):
    noisy = degrade(frame, DegradationSpec(noise_sigma=10), seed=0)[0]
    pairs = [(0, frame[0], frame[0]), (1, noisy, frame[0])]
    curves, errors, skipped = run_optional(("dists",), {"dists": staged}, pairs)
    assert not errors and not skipped
    assert curves["dists"][0] == pytest.approx(0.0, abs=1e-6) and curves["dists"][1] > 0
    curves, errors, skipped = run_optional(("dists",), {}, pairs)
    assert not curves and not errors
    assert skipped and skipped[0].startswith("dists: skipped: weights not given")


def test_registry_reports_weights_without_the_backbone(tmp_path, frame):
    _, heads = _random_state()
    torch.save(heads, tmp_path / "weights.pt")  # DISTS' file alone: the VGG16 keys are missing
    curves, errors, skipped = run_optional(("dists",), {"dists": str(tmp_path / "weights.pt")}, [(0, frame[0], frame[0])])
    assert not curves and not skipped
    assert errors["dists"].startswith("checkpoint:") and "features.0.weight" in errors["dists"]
