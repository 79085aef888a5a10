"""Weights identity for the config hash: a known sha256, else what the store says about the bytes."""

from __future__ import annotations

import os

import pytest

from jobs.weights import weights_identity
from seedvr.errors import ConfigError


def test_known_digest_wins_and_no_weights_is_none() -> None:
    assert weights_identity("s3://b/w.pth", "abc") == ("sha256:abc", "abc")
    assert weights_identity(None, None) == (None, None)


def test_file_and_folder_identity_change_when_bytes_change(tmp_path) -> None:
    f = tmp_path / "w.safetensors"
    f.write_bytes(b"1234")
    ident, sha = weights_identity(str(f), None)
    assert sha is None and ident.startswith(str(f))
    f.write_bytes(b"12345")
    assert weights_identity(str(f), None)[0] != ident
    folder = weights_identity(str(tmp_path), None)[0]
    (tmp_path / "vae.pth").write_bytes(b"x")
    os.utime(tmp_path / "vae.pth", (1, 1))
    assert weights_identity(str(tmp_path), None)[0] != folder


def test_missing_weights_name_the_flag(tmp_path) -> None:
    with pytest.raises(ConfigError, match="--weights"):
        weights_identity(str(tmp_path / "nope.pth"), None)


def test_weights_on_a_store_without_its_package_name_the_extra() -> None:
    import importlib.util

    from seedvr.defaults import validate_model_choice

    if importlib.util.find_spec("adlfs") or importlib.util.find_spec("gcsfs"):
        pytest.skip("the azure/gcs extras are installed here")
    with pytest.raises(ConfigError, match=r"abfss:// needs the adlfs package: pip install 'seedvr-lakehouse\[azure\]'"):
        weights_identity("abfss://models@acct.dfs.core.windows.net/seedvr2/ema_vae.pth", None)
    with pytest.raises(ConfigError, match=r"gs:// needs the gcsfs package"):
        validate_model_choice("seedvr2-3b", "gs://models/seedvr2-3b/")
