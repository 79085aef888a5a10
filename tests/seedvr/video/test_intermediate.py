"""Lossless segment files: exact round trips at 8 and 16 bits, checksums, atomicity."""

from __future__ import annotations

import os

import numpy as np
import pytest

from seedvr.errors import ConfigError, CorruptVideoError, InputError
from seedvr.video.intermediate import iter_segment, read_segment, segment_key, write_segment


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize(("codec", "ext"), [("utvideo", "nut"), ("ffv1", "mkv"), ("rawvideo", "nut")])
def test_exact_round_trip_odd_size(tmp_path, dtype: type, codec: str, ext: str) -> None:
    rng = np.random.default_rng(1)
    frames = rng.integers(0, np.iinfo(dtype).max, (5, 38, 66, 3), dtype=dtype)
    url = segment_key(str(tmp_path), "video 1", "cfg", 3, ext=ext)
    sf = write_segment(url, frames, metadata={"window_start": 10}, codec=codec)
    assert (sf.num_frames, sf.width, sf.height, sf.dtype) == (5, 66, 38, np.dtype(dtype).name)
    back = read_segment(url, sha256=sf.sha256)
    assert back.dtype == dtype and np.array_equal(back, frames)
    assert os.listdir(os.path.dirname(url)) == [f"seg-00003.{ext}"]  # no temporary left behind


def test_container_and_codec_must_match(tmp_path) -> None:
    with pytest.raises(ConfigError, match="MKV cannot hold utvideo"):
        write_segment(str(tmp_path / "s.mkv"), np.zeros((1, 8, 8, 3), np.uint8))
    with pytest.raises(ConfigError, match="must end in"):
        write_segment(str(tmp_path / "s.avi"), np.zeros((1, 8, 8, 3), np.uint8))
    assert os.listdir(tmp_path) == []


def test_streaming_writer_and_reader(tmp_path) -> None:
    frames = [np.full((8, 10, 3), i * 20, np.uint8) for i in range(4)]
    url = str(tmp_path / "s.nut")
    write_segment(url, iter(frames))
    assert [f[0, 0, 0] for f in iter_segment(url)] == [0, 20, 40, 60]


def test_checksum_mismatch_is_detected(tmp_path) -> None:
    url = str(tmp_path / "s.nut")
    write_segment(url, np.zeros((2, 8, 8, 3), np.uint8))
    with pytest.raises(CorruptVideoError, match="checksum mismatch"):
        read_segment(url, sha256="0" * 64)


@pytest.mark.parametrize(
    "frames",
    [np.zeros((2, 8, 8), np.uint8), np.zeros((2, 8, 8, 3), np.float32), np.zeros((0, 8, 8, 3), np.uint8)],
)
def test_bad_frames_are_rejected_and_leave_no_file(tmp_path, frames: np.ndarray) -> None:
    url = str(tmp_path / "bad.nut")
    with pytest.raises(InputError):
        write_segment(url, frames)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(("codec", "ext"), [("rawvideo", "nut"), ("utvideo", "nut"), ("ffv1", "nut"), ("ffv1", "mkv")])
def test_checksum_is_the_files_sha256(tmp_path, codec: str, ext: str) -> None:
    """Uncompressed segments are muxed from the arrays' bytes: the checksum is still the file's."""
    from seedvr.video.storage import sha256_file

    frames = np.random.default_rng(2).integers(0, 255, (3, 10, 14, 3), dtype=np.uint8)
    url = str(tmp_path / f"s.{ext}")
    sf = write_segment(url, frames, codec=codec)
    assert sf.sha256 == sha256_file(url) and sf.size_bytes == os.path.getsize(url)


def test_damaged_segment_fails_before_the_iterator_ends(tmp_path) -> None:
    """The digest is checked in the decoding pass: a flipped byte raises before the last frame is taken."""
    url = str(tmp_path / "s.nut")
    sf = write_segment(url, np.zeros((3, 8, 8, 3), np.uint8), codec="rawvideo")
    with open(url, "r+b") as f:
        f.seek(-10, os.SEEK_END)
        f.write(b"\xff")
    with pytest.raises(CorruptVideoError, match="checksum mismatch"):
        list(iter_segment(url, sha256=sf.sha256))


@pytest.mark.parametrize("codec", ["utvideo", "ffv1"])
def test_damage_that_breaks_decoding_is_reported_as_the_mismatch(tmp_path, codec: str) -> None:
    url = str(tmp_path / "s.nut")
    frames = np.random.default_rng(5).integers(0, 255, (4, 32, 48, 3), dtype=np.uint8)
    sf = write_segment(url, frames, codec=codec)
    size = os.path.getsize(url)
    with open(url, "r+b") as f:  # scribble over the middle of the file
        f.seek(size // 3)
        f.write(b"\x00\xff" * (size // 6))
    with pytest.raises(CorruptVideoError, match="checksum mismatch"):
        list(iter_segment(url, sha256=sf.sha256))


def test_intact_segment_reads_back_exactly_with_its_digest(tmp_path) -> None:
    url = str(tmp_path / "s.mkv")
    frames = np.random.default_rng(6).integers(0, 255, (5, 24, 40, 3), dtype=np.uint8)
    sf = write_segment(url, frames, codec="ffv1")
    assert np.array_equal(np.stack(list(iter_segment(url, sha256=sf.sha256))), frames)


def test_a_scratch_segment_can_skip_its_digest(tmp_path) -> None:
    url = str(tmp_path / "s.nut")
    sf = write_segment(url, np.zeros((2, 8, 8, 3), np.uint8), codec="rawvideo", digest=False)
    assert sf.sha256 is None and sf.size_bytes == os.path.getsize(url)
    assert len(list(iter_segment(url, size_bytes=sf.size_bytes))) == 2


_FULL_DISK = """
import resource, signal, sys
import numpy as np
from seedvr.video.intermediate import write_segment
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
frames = np.random.default_rng(0).integers(0, 255, (6, 120, 160, 3), dtype=np.uint8)
try:
    write_segment(sys.argv[1], frames, codec=sys.argv[2])
except OSError as exc:
    print(f"OSError {exc.errno}")
"""


@pytest.mark.parametrize("codec", ["rawvideo", "utvideo"])
def test_a_write_that_runs_out_of_space_says_so(tmp_path, codec: str) -> None:
    """The digest's file object must not hide the OS's error (PyAV wraps a callback's exception), and the
    half-written file never appears."""
    import errno
    import subprocess
    import sys

    url = str(tmp_path / "s.nut")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    res = subprocess.run([sys.executable, "-c", _FULL_DISK, url, codec], capture_output=True, text=True,
                         cwd=repo, env={**os.environ, "PYTHONPATH": repo}, timeout=120)
    assert res.stdout.strip() == f"OSError {errno.EFBIG}", res.stdout + res.stderr[-2000:]
    assert os.listdir(tmp_path) == []
