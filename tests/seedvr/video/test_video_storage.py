"""Storage helpers: key sanitising, atomic writes (local and S3), error mapping, S3 reads end to end."""

from __future__ import annotations

import os

import numpy as np
import pytest

from seedvr.errors import ConfigError, MissingObjectError, PermissionDeniedError
from seedvr.video.decode import read_frames
from seedvr.video.intermediate import read_segment, segment_key, write_segment
from seedvr.video.probe import probe
from seedvr.video.storage import (
    atomic_write,
    exists,
    map_storage_error,
    object_size,
    sanitize_key_component,
)


def test_sanitize_key_component() -> None:
    assert sanitize_key_component("clip_001.mp4") == "clip_001.mp4"
    a, b = sanitize_key_component("a/b"), sanitize_key_component("a_b")
    assert a != b and "/" not in a
    for hostile in ("../../etc/passwd", "..", "x\x00y", "é t/é"):
        out = sanitize_key_component(hostile)
        assert out and set(out) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        assert not out.startswith(".")
    assert len(sanitize_key_component("x" * 500)) <= 96
    with pytest.raises(ConfigError):
        sanitize_key_component("")


def test_segment_key_is_deterministic_and_safe() -> None:
    k = segment_key("s3://bucket/restored", "../evil id", "cfg#1", 7)
    assert k == segment_key("s3://bucket/restored", "../evil id", "cfg#1", 7)
    assert k.startswith("s3://bucket/restored/") and k.endswith("/seg-00007.nut") and "/../" not in k


def test_local_atomic_write_leaves_nothing_on_failure(tmp_path) -> None:
    target = tmp_path / "out" / "final.bin"
    with pytest.raises(RuntimeError):
        with atomic_write(str(target)) as tmp:
            open(tmp, "wb").write(b"half")
            raise RuntimeError("crash mid-write")
    assert not target.exists() and os.listdir(target.parent) == []
    with atomic_write(str(target)) as tmp:
        open(tmp, "wb").write(b"whole")
    assert target.read_bytes() == b"whole" and os.listdir(target.parent) == ["final.bin"]


def test_error_mapping_names_url_and_fix() -> None:
    e = map_storage_error(FileNotFoundError("x"), "s3://b/k.mp4")
    assert isinstance(e, MissingObjectError) and "s3://b/k.mp4" in str(e)
    e = map_storage_error(PermissionError(13, "denied"), "s3://b/k.mp4")
    assert isinstance(e, PermissionDeniedError) and "grant read access" in str(e)


def test_s3_round_trip(s3_bucket: str, clip) -> None:
    """Probe and decode straight from s3://, and write/read a segment there atomically."""
    import fsspec

    url = f"s3://{s3_bucket}/in/cfr.mp4"
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.put_file(clip("cfr_mp4"), url)
    assert exists(url) and object_size(url) == os.path.getsize(clip("cfr_mp4"))
    info = probe(url)
    assert info.num_frames == 32
    local = probe(clip("cfr_mp4"))
    frames = read_frames(url, 5, 12, info)
    assert np.array_equal(frames, read_frames(local.url, 5, 12, local))

    seg_url = segment_key(f"s3://{s3_bucket}/segs", "vid/1", "cfg", 0)
    sf = write_segment(seg_url, frames)
    assert exists(seg_url) and fs.ls(f"{s3_bucket}/segs", detail=False)  # one object, at the final key
    assert np.array_equal(read_segment(seg_url, sha256=sf.sha256), frames)
    with pytest.raises(MissingObjectError):
        probe(f"s3://{s3_bucket}/in/absent.mp4")


@pytest.mark.parametrize("url, needs", [("abfss://media@acct.dfs.core.windows.net/in/", "azure"),
                                        ("az://media/in/", "azure"), ("gs://media/in/", "gcs")])
def test_object_store_without_its_package_names_the_extra(url: str, needs: str) -> None:
    import importlib.util

    from seedvr.video.storage import filesystem

    if importlib.util.find_spec({"azure": "adlfs", "gcs": "gcsfs"}[needs]) is not None:
        pytest.skip("the package is installed here")
    with pytest.raises(ConfigError, match=rf"pip install 'seedvr-lakehouse\[{needs}\]'"):
        filesystem(url)


def test_unknown_protocol_lists_the_supported_ones() -> None:
    from seedvr.video.storage import check_bucket

    with pytest.raises(ConfigError, match=r"unknown storage protocol nope://; supported: local paths.*s3://"):
        check_bucket("nope://bucket/key")


def test_missing_credentials_name_the_bucket_and_the_fix() -> None:
    from botocore.exceptions import NoCredentialsError

    from seedvr.video.storage import credentials_hint

    hint = credentials_hint(NoCredentialsError(), "s3://archive/in/a.mp4")
    assert hint is not None and "bucket 'archive'" in hint and "AWS_ACCESS_KEY_ID" in hint
    assert credentials_hint(OSError("connection refused"), "s3://archive/in/a.mp4") is None
    err = map_storage_error(NoCredentialsError(), "s3://archive/in/a.mp4")
    assert isinstance(err, PermissionDeniedError) and str(err).startswith("s3://archive/in/a.mp4: no credentials")
