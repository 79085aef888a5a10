"""Console scripts: complete --help, exit codes, and one ingest + restore through main() (each call
starts and stops its own embedded Sail server, as a user's command does)."""

from __future__ import annotations

import pytest
from pyspark.sql.types import StringType, StructField, StructType

from jobs import demo
from jobs.catalog import command as ingest
from jobs.restore import command as restore
from jobs.tables import table_refs
from tests.jobs.helpers import make_catalog, tiny_config, write_profile

DATABRICKS_FLAGS = ("--profile", "--catalog", "--schema", "--predicate", "--ids", "--date-from", "--date-to",
                    "--content-class", "--preset", "--weights", "--output-root", "--gpu-slots", "--job-id",
                    "--job-run-id", "--engine", "--connect-url", "--force", "--set")


def test_restore_help_documents_every_flag(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        restore.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for flag in DATABRICKS_FLAGS:
        assert flag in out, flag
    assert "exit codes" in out


def test_ingest_and_demo_help(capsys) -> None:
    for mod in (ingest, demo):
        with pytest.raises(SystemExit):
            mod.main(["--help"])
    out = capsys.readouterr().out
    assert "--source" in out and "--manifest" in out and "--clips" in out


def test_main_ingest_restore_and_exit_codes(spark, make_video, tmp_path, capsys) -> None:
    make_catalog(make_video, str(tmp_path / "src"), n=1, frames=5)
    profile = write_profile(tiny_config(str(tmp_path)), str(tmp_path / "p.yaml"))
    assert ingest.main(["--profile", profile, "--source", str(tmp_path / "src"), "--content-class="]) == 0
    assert "new 1" in capsys.readouterr().out
    # Empty values (unset Databricks job parameters) are ignored.
    assert restore.main(["--profile", profile, "--no-mlflow", "--predicate=", "--date-from="]) == 0
    assert "1 restored" in capsys.readouterr().out
    assert restore.main(["--profile", profile, "--no-mlflow"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert restore.main(["--profile", profile, "--no-mlflow", "--predicate", "no_such_col = 1"]) == 2
    assert "no_such_col" in capsys.readouterr().err
    assert restore.main(["--profile", profile, "--no-mlflow", "--set", "segments.segment_frames=6"]) == 2
    assert "4n+1" in capsys.readouterr().err


def test_table_with_another_schema_exits_2_naming_it(spark, tmp_path, capsys) -> None:
    cfg = tiny_config(str(tmp_path))
    ref = table_refs(cfg.tables).segments
    # An older/other table where segment results belong: segment_index stored as text.
    wrong = StructType([StructField("video_id", StringType()), StructField("segment_index", StringType())])
    ref.append(spark.createDataFrame([("a", "0")], wrong))
    profile = write_profile(cfg, str(tmp_path / "p.yaml"))
    assert restore.main(["--profile", profile, "--no-mlflow"]) == 2
    err = capsys.readouterr().err
    assert ref.label in err and "'segment_index'" in err and "string" in err and "int" in err


MODEL_FLAGS = ("--preset", "--weights", "--resolution", "--short-side", "--scale", "--segment-frames",
               "--context-frames", "--dtype", "--attention", "--vae-tile", "--color-fix", "--seed", "--device")


def test_model_flags_are_seedvr_clips(capsys) -> None:
    """Same names and help texts as seedvr-clip, whose defaults the help names (seedvr.defaults)."""
    from seedvr.cli.flags import HELP
    from seedvr.cli.restore_clip import build_parser

    with pytest.raises(SystemExit):
        restore.main(["--help"])
    job_help = " ".join(capsys.readouterr().out.split())
    clip_help = " ".join(build_parser().format_help().split())
    for flag in MODEL_FLAGS:
        assert flag in job_help and flag in clip_help, flag
        text = " ".join(HELP[flag[2:].replace("-", "_")].split())
        assert text in job_help and text in clip_help, flag
    assert "(default: seedvr2-3b)" in job_help and "(default: 720p)" in job_help and "(default: 666)" in job_help


def _cfg(*argv: str):
    from jobs.cli import config_from_args

    return config_from_args(restore.build_parser().parse_args(["--profile", "local", *argv]))


def test_model_flags_map_onto_the_config() -> None:
    cfg = _cfg("--preset", "tiny-v2", "--weights", "/w/dit.pth", "--resolution", "1080p", "--segment-frames", "21",
               "--context-frames", "4", "--dtype", "bf16", "--attention", "sdpa", "--vae-tile", "512",
               "--color-fix", "adain", "--seed", "7", "--device", "cuda:1", "--gpu-slots", "4")
    m = cfg.model
    assert (m.preset, m.weights, m.dtype, m.attention, m.vae_tile, m.colour_fix, m.seed, m.device) == (
        "tiny-v2", "/w/dit.pth", "bfloat16", "sdpa", 512, "adain", 7, "cuda:1")
    assert m.target.model_dump() == {"mode": "short_side", "value": 1080, "multiple": 2}
    assert (cfg.segments.segment_frames, cfg.segments.context_frames, cfg.execution.gpu_slots) == (21, 4, 4)
    assert _cfg("--short-side", "720").model.target.model_dump() == {"mode": "short_side", "value": 720,
                                                                      "multiple": 2}
    assert _cfg("--scale", "1").model.target.model_dump() == {"mode": "scale", "value": 1, "multiple": 1}
    # Flags win over --set; "auto" replaces a dtype set earlier; empty values (unset job parameters) count
    # as not given, so the profile's values stay.
    assert _cfg("--set", "model.dtype=float16", "--dtype", "auto").model.dtype is None
    assert _cfg("--set", "model.seed=3", "--seed", "4").model.seed == 4
    blank = _cfg("--preset=", "--resolution=", "--short-side=", "--seed=", "--segment-frames=", "--dtype=",
                 "--vae-tile=", "--color-fix=", "--set", "model.seed=3")
    assert blank.model == _cfg("--set", "model.seed=3").model


@pytest.mark.parametrize("argv, needle", [
    (("--preset", "seedvr2-3bb"), "did you mean 'seedvr2-3b'"),
    (("--dtype", "fp8"), "dtype 'fp8' is not one of auto, bfloat16"),
    (("--attention", "xformers"), "--attention 'xformers' is not one of auto, flash, sdpa"),
    (("--color-fix", "lab"), "--color-fix 'lab' is not one of wavelet, adain, none"),
    (("--vae-tile", "100"), "--vae-tile '100' must be auto or a tile edge"),
    (("--resolution", "huge"), "--resolution 'huge' is not a size"),
    (("--resolution", "720p", "--scale", "2"), "--resolution and --scale both set the output size"),
    (("--short-side", "-4"), "--short-side -4 must be a size in pixels"),
    (("--scale", "0"), "--scale 0.0 must be a positive factor"),
    (("--seed", "x"), "--seed 'x' is not a whole number"),
    (("--segment-frames", "8"), "4n+1"),
    (("--segment-frames", "9", "--context-frames", "9"), "must be smaller than segment_frames"),
])
def test_bad_model_flags_are_one_line_config_errors(argv: tuple[str, ...], needle: str) -> None:
    from seedvr.errors import ConfigError

    with pytest.raises(ConfigError) as e:
        _cfg(*argv)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_bad_model_flag_exits_2_with_one_line_before_any_engine(tmp_path) -> None:
    import os
    import subprocess
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.run([sys.executable, "-m", "jobs.restore.command", "--resolution", "720p", "--short-side",
                           "1080", "--work-dir", str(tmp_path)], cwd=str(tmp_path), capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": repo})
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert lines == ["error: --resolution and --short-side both set the output size; give only one"]
    assert os.listdir(tmp_path) == []  # no tables, no MLflow database, no engine started
