import hashlib

import fsspec
import pytest
import torch
from safetensors.torch import save_file

from seedvr.checkpoints import local_copy, read_state_dict, sha256_file
from seedvr.checkpoints.files import find_first
from seedvr.errors import CheckpointError


def _state():
    g = torch.Generator().manual_seed(0)
    return {"a.weight": torch.randn(4, 3, generator=g), "b.bias": torch.randn(5, generator=g)}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_round_trip(tmp_path, suffix, dtype):
    state = {k: v.to(dtype) for k, v in _state().items()}
    path = tmp_path / f"w{suffix}"
    save_file(state, str(path)) if suffix == ".safetensors" else torch.save(state, path)
    back = read_state_dict(path)
    assert back.keys() == state.keys()
    for k in state:
        assert back[k].dtype == dtype and torch.equal(back[k], state[k])


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_truncated_file(tmp_path, suffix):
    path = tmp_path / f"w{suffix}"
    state = {"x": torch.randn(1000)}
    save_file(state, str(path)) if suffix == ".safetensors" else torch.save(state, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        read_state_dict(path)


def test_missing_file_and_wrong_dtype(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        read_state_dict(tmp_path / "nope.pth")
    path = tmp_path / "fp8.safetensors"
    save_file({"x": torch.zeros(4, dtype=torch.float8_e4m3fn)}, str(path))
    assert read_state_dict(path)["x"].dtype == torch.float8_e4m3fn  # dequantised by the loader
    torch.save({"x": torch.zeros(3, dtype=torch.int8)}, tmp_path / "int.pth")
    with pytest.raises(CheckpointError, match="unsupported dtypes"):
        read_state_dict(tmp_path / "int.pth")


def test_pickled_objects_are_refused(tmp_path):
    torch.save({"x": torch.zeros(2), "meta": object()}, tmp_path / "obj.pth")
    with pytest.raises(CheckpointError):
        read_state_dict(tmp_path / "obj.pth")


def test_sha256_streams_and_caches(tmp_path):
    from seedvr.checkpoints import files

    path, cache = tmp_path / "f.bin", tmp_path / "sha"
    path.write_bytes(b"seedvr" * 1000)
    assert sha256_file(path, cache) == hashlib.sha256(b"seedvr" * 1000).hexdigest()
    path.write_bytes(b"changed, longer content")  # size changes, so no cache entry is reused
    assert sha256_file(path, cache) == hashlib.sha256(b"changed, longer content").hexdigest()
    # A new process (empty memory cache) reads the digest from disk instead of hashing again.
    files._sha_cache.clear()
    records = sorted(cache.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    records[-1].write_text("e" * 64)
    assert sha256_file(path, cache) == "e" * 64


def test_remote_copy_is_cached(tmp_path):
    fs = fsspec.filesystem("memory")
    with fs.open("/w/dit.safetensors", "wb") as f:
        f.write(b"0123456789")
    url = "memory://w/dit.safetensors"
    first = local_copy(url, tmp_path)
    assert first.read_bytes() == b"0123456789"
    assert local_copy(url, tmp_path) == first
    assert not list(first.parent.glob(".part-*"))
    assert find_first("memory://w", ["x.pth", "dit.safetensors"]) == url
    with pytest.raises(CheckpointError, match="none of"):
        find_first("memory://w", ["x.pth"])
    with pytest.raises(CheckpointError, match="does not exist"):
        local_copy("memory://w/missing.pth", tmp_path)
