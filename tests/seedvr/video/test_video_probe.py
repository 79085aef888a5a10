"""Probe: exact frame tables, VFR, rotation, colour tags, 10-bit, audio, remuxing, and every bad input."""

from __future__ import annotations

import json
import os
from fractions import Fraction

import fsspec
import numpy as np
import pytest
from fsspec.implementations.local import LocalFileSystem
from videogen import make_audio_only, make_duplicate_pts, vfr_durations

from seedvr.errors import (
    BadTimestampsError,
    CorruptVideoError,
    MissingObjectError,
    NoVideoStreamError,
    PermissionDeniedError,
    TruncatedVideoError,
    UnsupportedCodecError,
    VideoTooLargeError,
    error_class_of,
)
from seedvr.video.avutil import map_av_error
from seedvr.video.info import VideoInfo, check_dimensions, detect_vfr
from seedvr.video.probe import probe


def test_cfr_mp4_frame_table_and_tags(clip) -> None:
    info = probe(clip("cfr_mp4"))
    assert info.num_frames == 32 and not info.vfr
    assert (info.width, info.height, info.bit_depth, info.codec) == (64, 48, 8, "h264")
    step = info.pts[1] - info.pts[0]
    assert list(info.pts) == [info.pts[0] + i * step for i in range(32)]
    assert info.fps == pytest.approx(25.0)
    assert info.color.names() == {"matrix": "bt709", "range": "tv", "primaries": "bt709", "transfer": "bt709"}
    assert info.audio == () and info.rotation == 0 and not info.remuxed


def test_vfr_pts_are_exact(clip) -> None:
    info = probe(clip("vfr_mkv"))
    assert info.vfr and info.time_base == Fraction(1, 1000)
    deltas = [b - a for a, b in zip(info.pts[:-1], info.pts[1:], strict=True)]
    assert deltas == vfr_durations(32)[:-1]


def test_rotation_odd_size_and_hdr10(clip) -> None:
    assert probe(clip("rot90_mp4")).rotation == 90
    odd = probe(clip("odd_mkv"))
    assert (odd.width, odd.height) == (66, 38)
    hdr = probe(clip("hdr10_mkv"))
    assert hdr.bit_depth == 10 and hdr.high_bit_depth and hdr.is_hdr
    assert hdr.color.names()["primaries"] == "bt2020" and hdr.color.names()["transfer"] == "smpte2084"


def test_audio_stream_is_listed(clip) -> None:
    info = probe(clip("audio_mp4"))
    assert [(a.kind, a.codec, a.sample_rate, a.channels) for a in info.audio] == [("audio", "aac", 16000, 1)]


@pytest.mark.parametrize("name", ["mpegts", "raw_h264"])
def test_ts_and_raw_streams_are_remuxed(clip, tmp_path, name: str) -> None:
    info = probe(clip(name), remux_dir=str(tmp_path / "remux"))
    assert info.remuxed and info.decode_url.endswith(".mkv") and os.path.exists(info.decode_url)
    assert info.container in ("mpegts", "h264") and info.num_frames == 32 and not info.vfr


@pytest.mark.parametrize("name", ["mpegts", "raw_h264"])
def test_missing_remux_copy_is_recreated_identically(clip, tmp_path, name: str) -> None:
    """Another machine lacks the probing machine's local remux: decoding re-makes it, same frames."""
    from seedvr.video.decode import read_frames

    info = probe(clip(name), remux_dir=str(tmp_path / "remux"))
    before = read_frames(info.url, 3, 12, info)
    os.remove(info.decode_url)
    after = read_frames(info.url, 3, 12, info)
    assert os.path.exists(info.decode_url) and np.array_equal(before, after)
    assert probe(info.decode_url).pts == info.pts


def test_to_dict_is_json_safe_and_round_trips(clip) -> None:
    info = probe(clip("vfr_mp4"))
    d = json.loads(json.dumps(info.to_dict()))
    assert VideoInfo.from_dict(d) == info
    summary = info.summary()
    assert summary["num_frames"] == 32 and "pts" not in summary
    json.dumps(summary)


def test_detect_vfr_tolerates_millisecond_rounding() -> None:
    assert not detect_vfr([0, 33, 67, 100, 133, 167, 200])  # 29.97 fps in a 1/1000 time base
    assert detect_vfr([0, 33, 83, 100, 140])


# ------------------------------------------------------------------------------------------ bad inputs


def test_missing_object(tmp_path) -> None:
    with pytest.raises(MissingObjectError, match="nope.mp4") as e:
        probe(str(tmp_path / "nope.mp4"))
    assert error_class_of(e.value) == "missing"


def test_zero_length_file(tmp_path) -> None:
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    with pytest.raises(CorruptVideoError, match="empty"):
        probe(str(p))


def test_garbage_bytes_with_mp4_extension(tmp_path) -> None:
    p = tmp_path / "garbage.mp4"
    p.write_bytes(os.urandom(4096))
    with pytest.raises(CorruptVideoError, match="garbage.mp4"):
        probe(str(p))


def test_audio_only_file(tmp_path) -> None:
    p = tmp_path / "audio.m4a"
    make_audio_only(str(p))
    with pytest.raises(NoVideoStreamError, match="audio"):
        probe(str(p))


@pytest.mark.parametrize("name", ["cfr_mkv", "cfr_mp4"])
def test_truncated_file(clip, tmp_path, name: str) -> None:
    data = open(clip(name), "rb").read()
    p = tmp_path / f"half{os.path.splitext(clip(name))[1]}"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedVideoError, match="half") as e:
        probe(str(p))
    assert "re-upload" in str(e.value)


def test_absurd_header_dimensions_checked_before_decoding(tmp_path) -> None:
    p = tmp_path / "huge.y4m"  # a 20000x13000 header: FFmpeg accepts it, our guard must not
    p.write_bytes(b"YUV4MPEG2 W20000 H13000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + b"\x00" * 1000)
    with pytest.raises(VideoTooLargeError, match="20000x13000"):
        probe(str(p))


def test_duplicate_timestamps(tmp_path) -> None:
    p = tmp_path / "dup.mkv"
    make_duplicate_pts(str(p))
    with pytest.raises(BadTimestampsError, match="share the timestamp") as e:
        probe(str(p))
    assert error_class_of(e.value) == "bad_timestamps" and "dup.mkv" in str(e.value)


def test_dimension_guard() -> None:
    check_dimensions(7680, 4320, "ok.mp4")
    for w, h in [(100000, 100000), (20000, 10), (0, 10)]:
        with pytest.raises(VideoTooLargeError):
            check_dimensions(w, h, "x.mp4")


def test_permission_denied_through_fsspec(monkeypatch, tmp_path, clip) -> None:
    """Root ignores chmod 000, so the denial is injected at the fsspec layer that every URL goes through."""

    def deny(self, path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(LocalFileSystem, "_open", deny)
    with pytest.raises(PermissionDeniedError, match="permission denied") as e:
        probe(clip("cfr_mp4"))
    assert error_class_of(e.value) == "permission"
    fsspec.filesystem("file").clear_instance_cache()


def test_av_error_mapping() -> None:
    import av

    err = map_av_error(av.error.DecoderNotFoundError(1094795585, "Decoder not found"), "x.mkv")
    assert isinstance(err, UnsupportedCodecError) and "x.mkv" in str(err)
    assert isinstance(map_av_error(av.error.InvalidDataError(1, "Invalid data"), "y.mp4"), CorruptVideoError)


def test_probe_module_and_package_exports() -> None:
    import seedvr.video
    import seedvr.video.probe as probe_module

    assert probe_module.probe is probe and seedvr.video.probe is probe_module
    assert callable(seedvr.video.read_frames) and callable(seedvr.video.stitch_video)
