"""The Databricks notebooks, run as scripts on the embedded engine over a tiny catalog.

The catalog is made with the job's own functions (sample clips, ingest, a restore of one video with the
`identity` preset), so the notebooks read exactly the tables a real run writes. Each notebook gets the
test's session as its `spark` global, as Databricks hands one to a notebook.
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from seedvr.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
ADHOC = ROOT / "notebooks" / "adhoc_restore.py"
EXPLORER = ROOT / "notebooks" / "results_explorer.py"
SHARED_SESSION_FIXTURES = ("sail_spark", "spark_session", "spark")


@pytest.fixture(scope="module")
def nb_spark(request: pytest.FixtureRequest) -> Any:
    """The suite's shared Sail session when conftest provides one, else one for this module."""
    for name in SHARED_SESSION_FIXTURES:
        try:
            return request.getfixturevalue(name)
        except pytest.FixtureLookupError:
            continue
    from jobs.config import EngineConfig
    from jobs.engine import get_engine

    engine = get_engine(EngineConfig(kind="sail"))
    request.addfinalizer(engine.stop)
    return engine.spark


@pytest.fixture(scope="module")
def catalog(nb_spark: Any, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Two sample clips ingested; the first restored (several segments, so the curves have joins)."""
    from jobs.catalog.register import ingest
    from jobs.config import load_config
    from jobs.restore.pipeline import run_restore
    from jobs.restore.selection import make_selection
    from jobs.tables import ensure_tables, table_refs
    from seedvr.synthetic.catalog import make_sample_catalog

    tmp = tmp_path_factory.mktemp("nbcat")
    rows = make_sample_catalog(tmp / "clips", clips=2, frames=21, size=(48, 64), audio=False)
    profile = tmp / "profile.yaml"
    profile.write_text(yaml.safe_dump({
        "extends": "local",
        "tables": {"root": str(tmp / "tables")},
        "storage": {"output_root": str(tmp / "outputs"), "work_dir": str(tmp / "work")},
        "model": {"preset": "identity", "target": {"mode": "scale", "value": 2.0, "multiple": 2}},
        "segments": {"segment_frames": 9, "context_frames": 2},
        "execution": {"gpu_slots": 1, "stitch_slots": 1, "probe_slots": 1, "wave_segments": 16},
        "tracking": {"enabled": False},
    }))
    cfg = load_config(str(profile))
    tables = table_refs(cfg.tables)
    ensure_tables(nb_spark, tables)
    ingest(nb_spark, cfg, tables, source=str(tmp / "clips" / "lq"), run_id="nb-ingest", manifest=rows)
    ids = [r["video_id"] for r in rows]
    report = run_restore(nb_spark, cfg, make_selection(ids=ids[:1]), engine="sail", track=False)
    assert report.videos_ok == 1, report.message
    return SimpleNamespace(profile=str(profile), ids=ids, tables=tables, tmp=tmp)


def run_notebook(path: Path, spark: Any, monkeypatch: pytest.MonkeyPatch, **widgets: str) -> dict[str, Any]:
    for name, value in widgets.items():
        monkeypatch.setenv(f"SEEDVR_WIDGET_{name.upper()}", value)
    return runpy.run_path(str(path), init_globals={"spark": spark}, run_name="__main__")


def restorations(spark: Any, catalog: SimpleNamespace) -> dict[str, str]:
    pdf = catalog.tables.restorations.read(spark).select("video_id", "status").toPandas()
    return dict(zip(pdf["video_id"], pdf["status"], strict=True))


def test_notebooks_are_in_databricks_source_format() -> None:
    for path in (ADHOC, EXPLORER):
        text = path.read_text()
        assert text.startswith("# Databricks notebook source\n")
        assert text.count("# COMMAND ----------") >= 4
        assert "# MAGIC %md" in text
        assert "NotebookContext(globals())" in text, "widgets must see the notebook's dbutils"


def test_adhoc_restore_restores_the_selected_rows_only(nb_spark: Any, catalog: SimpleNamespace,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = catalog.ids
    assert second not in restorations(nb_spark, catalog)
    ns = run_notebook(ADHOC, nb_spark, monkeypatch, profile=catalog.profile, predicate=f"video_id = '{second}'")
    assert ns["n_selected"] == 1
    assert ns["report"].videos_ok == 1
    assert restorations(nb_spark, catalog) == {first: "ok", second: "ok"}
    # Running the same selection again restores nothing new.
    again = run_notebook(ADHOC, nb_spark, monkeypatch, profile=catalog.profile, ids=second)
    assert again["report"].videos_ok == 0 and again["report"].restored_segments == 0


@pytest.mark.parametrize(("widgets", "message"), [
    ({"predicate": "no_such_column = 1"}, "no_such_column"),
    ({"predicate": "video_id = 'x'; DROP TABLE videos"}, "single expression"),
    ({}, "set the 'predicate' or the 'ids' widget"),
    ({"ids": "not-a-video"}, "matches no video"),
    ({"ids": "x", "preset": "seedvr2-7b", "node_type": "g5.xlarge"}, "g5.xlarge"),
])
def test_adhoc_restore_refuses_bad_input_before_any_restore(
    nb_spark: Any, catalog: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, widgets: dict[str, str], message: str
) -> None:
    import jobs.restore.pipeline

    def no_restore(*a: object, **k: object) -> None:
        raise AssertionError("the restore must not start on bad input")

    monkeypatch.setattr(jobs.restore.pipeline, "run_restore", no_restore)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_notebook(ADHOC, nb_spark, monkeypatch, profile=catalog.profile, **widgets)


def test_results_explorer_writes_the_plots_and_shows_provenance(nb_spark: Any, catalog: SimpleNamespace,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    plots = catalog.tmp / "plots"
    first = catalog.ids[0]
    ns = run_notebook(EXPLORER, nb_spark, monkeypatch, profile=catalog.profile, video_id=first,
                      plots_dir=str(plots))
    for name in ("score_histograms.png", f"{first}_strip.png", f"{first}_scores.png"):
        png = plots / name
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert png.stat().st_size > 2000, f"{name} looks empty"
    assert ns["joins"], "a multi-segment video must show its joins"
    assert len(ns["segments"]) == len(ns["joins"]) + 1
    # The notebook recomputes the video's scores with the stitcher's function: the same numbers.
    agreement = ns["agreement"].set_index("score")
    assert "lr_psnr_mean" in agreement.index and "sharpness_mean" in agreement.index
    for score, r in agreement.iterrows():
        assert r["restorations table"] == pytest.approx(r["recomputed here"], abs=1e-6), score
    prov = dict(zip(ns["provenance"]["field"], ns["provenance"]["value"], strict=True))
    assert prov["video_id"] == first and prov["run_id"] and prov["config_hash"] and prov["engine"] == "sail"
    found = dict(zip(ns["archive"]["field"], ns["archive"]["value"], strict=True))  # the archive analysis
    assert found["scan type"] == "progressive" and found["applied"] == "nothing: restored as stored"
    assert ns["checked"].ok and ns["checked"].label == ns["row"]["manifest_label"]  # the file's own manifest


def test_results_explorer_names_an_unknown_video(nb_spark: Any, catalog: SimpleNamespace,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="no-such-video"):
        run_notebook(EXPLORER, nb_spark, monkeypatch, profile=catalog.profile, video_id="no-such-video",
                     plots_dir=str(catalog.tmp / "plots2"))


def test_notebook_runs_as_a_plain_script_with_its_own_engine(catalog: SimpleNamespace) -> None:
    """No `spark` global: the notebook starts the profile's embedded engine itself, as on a laptop."""
    plots = catalog.tmp / "plots_script"
    env = {**os.environ, "SEEDVR_WIDGET_PROFILE": catalog.profile, "SEEDVR_WIDGET_PLOTS_DIR": str(plots),
           "SEEDVR_WIDGET_MAX_FRAMES": "12"}
    proc = subprocess.run([sys.executable, str(EXPLORER)], cwd=catalog.tmp, env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (plots / "score_histograms.png").is_file()
    assert "wrote" in proc.stdout
