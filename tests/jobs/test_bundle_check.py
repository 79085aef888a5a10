"""Preflight of a job run: every bad bundle variable fails at once with the variable's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.databricks import bundle_check
from seedvr.errors import ConfigError

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


def _bundle() -> dict:
    cluster = {"kind": "CLASSIC_PREVIEW", "use_ml_runtime": True, "data_security_mode": "DATA_SECURITY_MODE_DEDICATED",
               "node_type_id": "g6e.xlarge", "driver_node_type_id": "g4dn.xlarge"}
    return {
        "targets": {
            "dev": {"mode": "development", "workspace": {"host": "https://dev.cloud.databricks.com"}},
            "prod": {"mode": "production", "workspace": {"host": "https://prod.cloud.databricks.com"},
                     "permissions": [{"level": "CAN_MANAGE", "service_principal_name": "sp"},
                                     {"level": "CAN_RUN", "group_name": "ops"}]},
        },
        "resources": {"jobs": {"nightly": {"job_clusters": [{"job_cluster_key": "gpu", "new_cluster": cluster}]}}},
    }


def test_a_bundle_that_keeps_the_rules_has_no_problem() -> None:
    assert bundle_check.check_bundle(_bundle()) == []


@pytest.mark.parametrize(("breaks", "message"), [
    (lambda b: b["targets"]["dev"].pop("workspace"), "target dev: workspace.host must be"),
    (lambda b: b["targets"]["prod"]["workspace"].update(host="${var.host}"), "target prod: workspace.host must be"),
    (lambda b: b["targets"]["prod"].pop("permissions"), "a production target needs permissions"),
    (lambda b: b["targets"]["prod"]["permissions"].append({"level": "CAN_MANAGE", "user_name": "a@b.c"}),
     "grants 'a@b.c' personally"),
    (lambda b: b["targets"]["prod"]["permissions"].append({"level": "IS_OWNER", "group_name": "g"}),
     "level must be one of CAN_VIEW, CAN_RUN, CAN_MANAGE"),
    (lambda b: b["targets"]["prod"]["permissions"].pop(0), "no service principal has CAN_MANAGE"),
    (lambda b: _cluster(b).update(data_security_mode="SINGLE_USER"), "SINGLE_USER is its legacy name"),
    (lambda b: _cluster(b).pop("kind"), "set kind: CLASSIC_PREVIEW and use_ml_runtime: true"),
    (lambda b: _cluster(b).pop("driver_node_type_id"), "set driver_node_type_id"),
])
def test_each_broken_rule_is_named(breaks, message: str) -> None:
    bundle = _bundle()
    breaks(bundle)
    problems = bundle_check.check_bundle(bundle)
    assert len(problems) == 1 and message in problems[0], problems


def _cluster(bundle: dict) -> dict:
    return bundle["resources"]["jobs"]["nightly"]["job_clusters"][0]["new_cluster"]


def test_driver_node_is_the_smallest_gpu_type_of_the_workers_cloud() -> None:
    assert bundle_check.check_driver_node("g4dn.xlarge", "g6e.xlarge").gpu == "T4"
    assert bundle_check.check_driver_node("Standard_NC4as_T4_v3", "Standard_NC24ads_A100_v4").cloud == "azure"
    with pytest.raises(ConfigError, match="but the workers are Standard_NC24ads_A100_v4 \\(azure\\); pick a node type of azure"):
        bundle_check.check_driver_node("g4dn.xlarge", "Standard_NC24ads_A100_v4")
    with pytest.raises(ConfigError, match="the driver loads no model: use a single-GPU 16 GB type of aws"):
        bundle_check.check_driver_node("g6e.xlarge", "g6e.xlarge")
    with pytest.raises(ConfigError, match="unknown GPU node type 'm5.xlarge'"):
        bundle_check.check_driver_node("m5.xlarge", "g6e.xlarge")  # GPU runtimes refuse a CPU driver
