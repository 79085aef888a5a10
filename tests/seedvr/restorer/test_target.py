import pytest

from seedvr.errors import ConfigError
from seedvr.restorer import TargetSize


def test_area_matches_reference_rule():
    # 640x480 to a 1280x720 area: scale sqrt(921600/307200) = sqrt(3).
    assert TargetSize.by_area(1280 * 720).output_size(480, 640) == (831, 1109)


def test_short_side_and_scale():
    assert TargetSize.by_short_side(720).output_size(480, 640) == (720, 960)
    assert TargetSize.by_short_side(720).output_size(640, 480) == (960, 720)
    assert TargetSize.by_scale(2).output_size(33, 50) == (66, 100)


def test_multiple_rounds_each_side():
    h, w = TargetSize.by_area(1280 * 720, multiple=2).output_size(480, 640)
    assert h % 2 == 0 and w % 2 == 0 and abs(h - 831) <= 1 and abs(w - 1109) <= 1


@pytest.mark.parametrize("args", [("area", 0.0), ("nope", 2.0), ("scale", float("nan")), ("scale", 2.0, 0)])
def test_invalid(args):
    with pytest.raises(ConfigError):
        TargetSize(*args)
