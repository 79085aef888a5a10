"""Preflight of a job run: every bad bundle variable fails at once with the variable's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.databricks import bundle_check

GOOD = ["--catalog=main", "--schema=seedvr", "--preset=tiny-v2", "--weights=/nowhere", "--output-root=/tmp/out",
        "--node-type=g6e.xlarge", "--gpus-per-node=1", "--gpu-slots=2", "--workers=2"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = bundle_check.main(argv)
    except SystemExit as ex:
        code = int(ex.code or 0)
    out = capsys.readouterr()
    return code, out.out + out.err


def with_arg(flag: str, value: str, argv: list[str] = GOOD) -> list[str]:
    return [a for a in argv if not a.startswith(flag + "=")] + [f"{flag}={value}"]


def test_good_parameters_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(GOOD, capsys)
    assert code == 0 and "preflight ok" in out


@pytest.mark.parametrize(("flag", "variable"), [
    ("--catalog", "catalog"), ("--schema", "schema"), ("--preset", "preset"),
    ("--weights", "weights_root"), ("--output-root", "output_root"), ("--node-type", "gpu_node_type"),
])
@pytest.mark.parametrize("empty", ["", "   "])
def test_empty_bundle_variable_is_named(flag: str, variable: str, empty: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(with_arg(flag, empty), capsys)
    assert code == 2
    assert f"bundle variable '{variable}' is empty" in out
    assert f"--var {variable}=" in out


def test_every_empty_variable_is_reported_together(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(with_arg("--schema", "", with_arg("--catalog", "")), capsys)
    assert code == 2 and "'catalog'" in out and "'schema'" in out


def test_preset_too_large_for_node_stops_before_any_model_load(capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import seedvr.checkpoints.presets as presets

    def no_load(*a: object, **k: object) -> None:
        raise AssertionError("preflight must not load weights")

    monkeypatch.setattr(bundle_check, "check_weights", no_load)
    code, out = run(with_arg("--node-type", "g5.xlarge", with_arg("--preset", "seedvr2-7b")), capsys)
    assert code == 2 and "seedvr2-7b" in out and "g5.xlarge" in out
    assert presets.get_preset("seedvr2-7b").min_gpu_memory_gb > 24 * 0.9


def test_gpu_count_must_match_the_node(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(with_arg("--node-type", "g6e.12xlarge"), capsys)
    assert code == 2 and "gpus_per_node=4" in out
    code, out = run(with_arg("--gpu-slots", "3"), capsys)
    assert code == 2 and "gpu_slots" in out


def test_backfill_requires_its_dates_and_a_forward_range(capsys: pytest.CaptureFixture[str]) -> None:
    backfill = [*GOOD, "--require=date_from,date_to", "--date-from=", "--date-to=2026-02-01"]
    code, out = run(backfill, capsys)
    assert code == 2 and "job parameter 'date_from' is empty" in out
    code, out = run(with_arg("--date-from", "2026-03-01", backfill), capsys)
    assert code == 2 and "after date_to" in out
    code, out = run(with_arg("--date-from", "01/03/2026", backfill), capsys)
    assert code == 2 and "ISO date" in out
    code, _ = run(with_arg("--date-from", "2026-01-01", backfill), capsys)
    assert code == 0


def test_released_preset_needs_its_checkpoint_in_the_weights_folder(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    argv = with_arg("--weights", str(tmp_path), with_arg("--preset", "seedvr2-3b"))
    code, out = run(argv, capsys)
    assert code == 2 and "seedvr2_ema_3b" in out and "weights_root" in out
    (tmp_path / "seedvr2_ema_3b_fp16.safetensors").write_bytes(b"")
    code, out = run(argv, capsys)
    assert code == 0, out


def test_nightly_source_must_be_set_and_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run([*GOOD, "--require=source", "--source="], capsys)
    assert code == 2 and "bundle variable 'source_root' is empty" in out
    code, out = run([*GOOD, f"--source={tmp_path / 'missing'}"], capsys)
    assert code == 2 and "source_root" in out and "does not exist" in out
    code, _ = run([*GOOD, "--require=source", f"--source={tmp_path}"], capsys)
    assert code == 0
