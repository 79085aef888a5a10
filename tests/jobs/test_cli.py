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
