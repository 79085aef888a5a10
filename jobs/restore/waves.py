"""The to-do set and its waves, computed in Spark: the plan never visits the driver.

A wave is a range of consecutive rows in (video_id, segment_index) order, at most `wave_segments` long, so a
video's segments stay together (split only at a wave boundary) and every wave but the last is full. The wave
number is the row's rank in that order divided by the wave size; the rank is a video's offset (a running sum
over one row per video) plus the segment's rank inside its video, so no window ever orders every segment
in one partition. Only counts per wave come back to the driver.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql.types import StructField, StructType

from jobs.schemas import SEGMENT_PLAN
from jobs.tables import TableRef, Tables, conform, merge
from seedvr.video.storage import filesystem
from udfs.schemas import L, utc_now

# A run's own plan rows: segment_plan's columns and the wave that restores the row (null: already done).
RUN_PLAN = StructType([*SEGMENT_PLAN.fields, StructField("wave", L, True)])

PLAN_KEY = ["video_id", "segment_index", "file_version"]


def mark_todo(plan: Any, done: Any | None) -> Any:
    """`plan` with a boolean `todo`: false for the keys in `done` (segments already ok), true otherwise."""
    from pyspark.sql import functions as F

    if done is None:
        return plan.withColumn("todo", F.lit(True))
    flags = done.select(*PLAN_KEY).distinct().withColumn("_done", F.lit(True))
    return (plan.join(flags, on=PLAN_KEY, how="left")
            .withColumn("todo", F.col("_done").isNull()).drop("_done"))


def assign_waves(plan: Any, wave_segments: int) -> Any:
    """`plan` (with `todo`) with a `wave` number for the rows to do, null for the others."""
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    n = max(1, int(wave_segments))
    todo = plan.filter(F.col("todo"))
    per_video = todo.groupBy("video_id").agg(F.count(F.lit(1)).alias("_n"))
    # One row per video: the running sum is ordered in one partition (named, as it is meant), but over
    # videos, not segments.
    before = Window.partitionBy(F.lit(0)).orderBy("video_id").rowsBetween(Window.unboundedPreceding, -1)
    running = F.sum("_n").over(before)
    offsets = per_video.select("video_id", F.coalesce(running, F.lit(0)).alias("_offset"))
    inside = Window.partitionBy("video_id").orderBy("segment_index")
    waves = (todo.select(*PLAN_KEY, F.row_number().over(inside).alias("_rank"))
             .join(offsets, on="video_id", how="inner")
             .select(*PLAN_KEY, ((F.col("_offset") + F.col("_rank") - 1) / F.lit(n)).cast("long").alias("wave")))
    return plan.join(waves, on=PLAN_KEY, how="left")


def wave_sizes(plan: Any) -> tuple[int, list[int]]:
    """(rows planned, segments per wave in wave order) of a plan with `wave`: one row per wave comes back."""
    from pyspark.sql import functions as F

    counts = plan.groupBy("wave").agg(F.count(F.lit(1)).alias("n")).collect()
    sizes = {int(r["wave"]): int(r["n"]) for r in counts if r["wave"] is not None}
    planned = sum(int(r["n"]) for r in counts)
    return planned, [sizes.get(i, 0) for i in range(max(sizes) + 1)] if sizes else []


def todo_by_video(plan: Any) -> Any:
    """Per video of a plan with `todo`: segments planned, to do, and frames to restore (with overlaps)."""
    from pyspark.sql import functions as F

    todo = F.col("todo")
    frames = F.col("last_output") - F.col("window_start") + 1
    return plan.groupBy("video_id").agg(
        F.count(F.lit(1)).alias("planned"),
        F.sum(F.when(todo, 1).otherwise(0)).alias("segments"),
        F.sum(F.when(todo, frames).otherwise(0)).alias("frames"),
    )


def run_plan_ref(tables: Tables, run_id: str) -> TableRef:
    """Where a run keeps its own plan rows with their waves: a Delta table beside segment_plan (a folder
    under the tables root, or a catalog table next to it), dropped when the run ends."""
    key = "".join(c for c in run_id if c.isalnum())[:32]
    plan = tables.segment_plan
    if plan.name:
        return TableRef("run_plan", name=f"{plan.name}_run_{key}")
    return TableRef("run_plan", path=f"{str(plan.path).rstrip('/')}_runs/{key}")


def record_plan(spark: Any, tables: Tables, plan: Any, *, wave_segments: int, run_id: str,
                meta: str | None = None) -> tuple[Any, int, list[int]]:
    """Write a plan (with `todo`) and its waves to the run's own table, MERGE that into segment_plan, and
    return (this run's plan rows, segments planned, segments per wave).

    The planner and the wave windows run once, in the append: MERGE reads its source twice, and Sail's
    MERGE from a computed source took 35x longer than from a table. The waves then filter that small
    table, so nothing is planned again."""
    from pyspark.sql import functions as F

    rows = (assign_waves(plan, wave_segments).drop("todo")
            .withColumn("planned_at", F.lit(utc_now())).withColumn("run_id", F.lit(run_id)))
    ref = run_plan_ref(tables, run_id)
    ref.append(conform(rows, RUN_PLAN), user_metadata=meta)
    mine = ref.read(spark)
    merge(spark, tables.segment_plan, conform(mine, SEGMENT_PLAN), user_metadata=meta)
    planned, waves = wave_sizes(mine)
    return mine, planned, waves


def drop_run_plan(spark: Any, tables: Tables, run_id: str) -> None:
    """Remove the run's own plan table (its rows are in segment_plan); a run killed before this leaves a
    folder that nothing reads again."""
    ref = run_plan_ref(tables, run_id)
    if ref.name:
        spark.sql(f"DROP TABLE IF EXISTS {ref.name}").collect()
        return
    fs, path = filesystem(str(ref.path))
    if fs.exists(path):
        fs.rm(path, recursive=True)
