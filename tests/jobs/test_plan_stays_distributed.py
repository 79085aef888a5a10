"""The plan never visits the driver: what a restore run brings back is one row per video, or counts.

Every DataFrame result (collect, toPandas) and every local frame sent to the server (createDataFrame) is
recorded by row count during a run whose catalog has many more segments than videos.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
import pytest

from jobs.catalog.register import ingest
from jobs.restore.pipeline import run_restore
from jobs.restore.selection import make_selection
from jobs.restore.waves import assign_waves, mark_todo, planner_output_ref, run_plan_ref, wave_sizes
from jobs.tables import ensure_tables, row_waves, table_refs
from tests.jobs.helpers import make_catalog, tiny_config

VIDEOS, FRAMES = 3, 25  # 5-frame windows with 1 frame of context: 6 segments a video


def _watch(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    from pyspark.sql.connect.dataframe import DataFrame
    from pyspark.sql.connect.session import SparkSession

    seen: list[tuple[str, int]] = []
    to_pandas, collect, create = DataFrame.toPandas, DataFrame.collect, SparkSession.createDataFrame

    def watched_to_pandas(df: Any) -> Any:
        out = to_pandas(df)
        seen.append(("toPandas", len(out)))
        return out

    def watched_collect(df: Any) -> Any:
        out = collect(df)
        seen.append(("collect", len(out)))
        return out

    def watched_create(session: Any, data: Any, *a: Any, **k: Any) -> Any:
        if isinstance(data, (pd.DataFrame, list)):
            seen.append(("createDataFrame", len(data)))
        return create(session, data, *a, **k)

    monkeypatch.setattr(DataFrame, "toPandas", watched_to_pandas)
    monkeypatch.setattr(DataFrame, "collect", watched_collect)
    monkeypatch.setattr(SparkSession, "createDataFrame", watched_create)
    return seen


def _count_planned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The videos the planner is called for (the engine runs it in this process), once per call."""
    from udfs.plan import PlanSegments

    planned: list[str] = []
    rows = PlanSegments.rows
    monkeypatch.setattr(PlanSegments, "rows", lambda self, batch: planned.extend(batch["video_id"]) or rows(self, batch))
    return planned


@pytest.fixture(scope="module")
def catalog(spark, make_video, tmp_path_factory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("plan")
    make_catalog(make_video, str(root / "src"), n=VIDEOS, frames=FRAMES)
    cfg = tiny_config(str(root))
    tables = table_refs(cfg.tables)
    ensure_tables(spark, tables)
    ingest(spark, cfg, tables, source=str(root / "src"), run_id="ingest-plan")
    return {"cfg": cfg, "tables": tables}


def test_dry_run_brings_back_videos_not_segments(catalog, spark, monkeypatch) -> None:
    seen = _watch(monkeypatch)
    planned = _count_planned(monkeypatch)
    rep = run_restore(spark, catalog["cfg"], make_selection(), track=False, dry_run=True)
    assert rep.dry_run is not None and rep.dry_run.segments_todo == rep.planned_segments == 6 * VIDEOS
    assert seen and max(n for _, n in seen) <= VIDEOS, seen
    # The failures, the totals and the waves read one written plan: each video is planned once, and the
    # run's tables are gone.
    assert sorted(planned) == sorted(set(planned)) and len(planned) == VIDEOS, planned
    assert not os.path.exists(str(planner_output_ref(catalog["tables"], rep.run_id).path))


def test_restore_brings_back_videos_not_segments(catalog, spark, monkeypatch) -> None:
    seen = _watch(monkeypatch)
    planned = _count_planned(monkeypatch)
    rep = run_restore(spark, catalog["cfg"], make_selection(), track=False)
    assert sorted(planned) == sorted(set(planned)) and len(planned) == VIDEOS, planned
    assert rep.planned_segments == rep.restored_segments == 6 * VIDEOS and rep.videos_ok == VIDEOS
    assert catalog["tables"].segment_plan.read(spark).count() == 6 * VIDEOS
    # The run's own plan table was written beside segment_plan, then dropped.
    own = str(run_plan_ref(catalog["tables"], rep.run_id).path)
    assert os.path.isdir(os.path.dirname(own)) and not os.path.exists(own)
    assert not os.path.exists(str(planner_output_ref(catalog["tables"], rep.run_id).path))
    # Per video (the selection, the reducer's rows, the stitch results, the restorations MERGE) or counts.
    assert seen and max(n for _, n in seen) <= VIDEOS, seen


def test_waves_are_the_consecutive_slices_of_the_key_order(spark) -> None:
    """Spark's wave numbers match slicing the sorted to-do rows on the driver, done rows left out."""
    rows = [(f"v{v}", i, "f1") for v, n in ((0, 5), (1, 1), (2, 7), (3, 3)) for i in range(n)]
    plan = spark.createDataFrame(rows, "video_id string, segment_index int, file_version string")
    done = spark.createDataFrame([("v2", 0, "f1"), ("v2", 3, "f1")], plan.schema)
    waved = assign_waves(mark_todo(plan, done), 4)
    got = {(r.video_id, r.segment_index): r.wave for r in waved.collect()}
    todo = pd.DataFrame([r for r in rows if (r[0], r[1]) not in {("v2", 0), ("v2", 3)}],
                        columns=["video_id", "segment_index", "file_version"]).sort_values(["video_id",
                                                                                            "segment_index"])
    want = {(v, i): None for v, i in (("v2", 0), ("v2", 3))}
    for w, wave in enumerate(row_waves(todo, 4)):
        want.update({(v, i): w for v, i in zip(wave["video_id"], wave["segment_index"], strict=True)})
    assert got == want
    assert wave_sizes(waved) == (len(rows), [4, 4, 4, 2])
