"""Frame-range decoding: exact seeks on every container, colour matrices, 10-bit, streaming."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from seedvr.errors import InputError
from seedvr.video.decode import iter_frames, read_frames
from seedvr.video.info import ColorInfo

RANGES = [(0, 1), (1, 4), (7, 9), (8, 9), (13, 30), (31, 32)]


@pytest.mark.parametrize("name", ["cfr_mp4", "vfr_mkv", "mpegts", "raw_h264", "hdr10_mkv"])
def test_seeked_ranges_equal_linear_decode(probed, clip, name: str) -> None:
    info = probed(name)
    full = read_frames(info.url, 0, info.num_frames, info)
    assert full.shape == (32, 48, 64, 3)
    for start, stop in RANGES:
        assert np.array_equal(read_frames(info.url, start, stop, info), full[start:stop]), (start, stop)
    assert not np.array_equal(full[0], full[1])  # frames differ, so an off-by-one would be caught


def _err(probed, clip_frames, name: str, color: ColorInfo | None = None) -> float:
    info = probed(name)
    if color is not None:
        info = dataclasses.replace(info, color=color)
    got = read_frames(info.url, 0, 2, info).astype(np.float64)
    want = clip_frames(name)[:2].astype(np.float64)
    assert got.shape == want.shape
    scale = 257.0 if got.dtype == np.uint16 or info.high_bit_depth else 1.0
    return float(np.abs(got - want).mean() / scale)


@pytest.mark.parametrize("name", ["yuv444_709", "untagged_sd", "untagged_hd", "odd_mkv"])
def test_colour_matches_encoder_input(probed, clip, clip_frames, name: str) -> None:
    """Tagged sources use their matrix; untagged SD is BT.601 and untagged HD BT.709 (as players do)."""
    assert _err(probed, clip_frames, name) < 1.0


def test_matrix_choice_matters(probed, clip, clip_frames) -> None:
    """Decoding the BT.709 clip as BT.601 (or the untagged HD clip as SD would) is visibly worse."""
    bt601 = ColorInfo(matrix=5, range=1, primaries=1, transfer=1)
    assert _err(probed, clip_frames, "yuv444_709", bt601) > 2.0
    assert _err(probed, clip_frames, "untagged_hd", bt601) > 2.0


def test_ten_bit_decodes_to_full_scale_uint16(probed, clip, clip_frames) -> None:
    info = probed("ten_bit_444")
    got = read_frames(info.url, 0, 2, info)
    assert got.dtype == np.uint16 and got.max() > 40000
    assert _err(probed, clip_frames, "ten_bit_444") < 1.0  # in 8-bit units: finer than one 8-bit step
    assert len(np.unique(got % 256)) > 16  # more than 8 bits of information survive


def test_iterator_streams_the_same_frames(probed, clip) -> None:
    info = probed("vfr_mp4")
    frames = list(iter_frames(info.url, 3, 20, info))
    assert len(frames) == 17 and np.array_equal(np.stack(frames), read_frames(info.url, 3, 20, info))


def test_rotated_clip_stays_in_coded_orientation(probed, clip) -> None:
    info = probed("rot90_mp4")
    assert read_frames(info.url, 0, 2, info).shape == (2, 48, 64, 3)


@pytest.mark.parametrize(("start", "stop"), [(-1, 3), (5, 5), (30, 33)])
def test_bad_ranges(probed, clip, start: int, stop: int) -> None:
    info = probed("cfr_mp4")
    with pytest.raises(InputError, match="outside"):
        read_frames(info.url, start, stop, info)
