"""The output check seedvr-clip runs first, and the dry-run variant that writes nothing.

Root writes into a read-only folder anyway, so the permission cases are simulated here; the console tests
run the other cases for real.
"""

from __future__ import annotations

import errno
import os

import pytest

from seedvr.cli import preflight
from seedvr.cli.preflight import check_output_location
from seedvr.errors import ConfigError


def test_output_folder_is_created_and_probed_then_left_clean(tmp_path) -> None:
    check_output_location(str(tmp_path / "a" / "b" / "out.mp4"))
    assert os.listdir(tmp_path / "a" / "b") == []
    check_output_location(str(tmp_path / "c" / "out.mp4"), create=False)
    assert not (tmp_path / "c").exists()


def test_unwritable_folder_names_the_output_and_the_fix(tmp_path, monkeypatch) -> None:
    out = str(tmp_path / "out.mp4")

    def denied(*a: object, **k: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(preflight.tempfile, "mkstemp", denied)
    with pytest.raises(ConfigError) as e:
        check_output_location(out)
    assert str(e.value) == (f"output {out}: cannot write into {tmp_path} (permission denied); grant write "
                            "access to the folder or choose another output path")
    monkeypatch.setattr(preflight.os, "access", lambda path, mode: False)
    with pytest.raises(ConfigError, match="cannot write the folder .*/new \\(in .*\\) \\(permission denied\\)"):
        check_output_location(str(tmp_path / "new" / "out.mp4"), create=False)


def test_paths_that_cannot_be_an_output(tmp_path) -> None:
    src = tmp_path / "in.mp4"
    src.write_bytes(b"x")
    with pytest.raises(ConfigError, match="is the input file"):
        check_output_location(str(src), str(src))
    with pytest.raises(ConfigError, match="is a folder; give a file name"):
        check_output_location(str(tmp_path))
    for create in (True, False):
        with pytest.raises(ConfigError, match=f"{src} is a file, not a folder"):
            check_output_location(str(src / "out.mp4"), create=create)
