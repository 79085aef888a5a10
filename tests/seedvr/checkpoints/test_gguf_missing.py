"""Without the optional gguf package a .gguf file is a one-line error naming the extra."""

import sys

import pytest

from seedvr.checkpoints.state_dict import read_state_dict
from seedvr.errors import CheckpointError


def test_gguf_without_the_package_names_the_extra(tmp_path, monkeypatch):
    (tmp_path / "dit.gguf").write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "gguf", None)  # import gguf now raises ImportError
    with pytest.raises(CheckpointError, match=r"seedvr-lakehouse\[gguf\]") as info:
        read_state_dict(tmp_path / "dit.gguf")
    assert "\n" not in str(info.value)
