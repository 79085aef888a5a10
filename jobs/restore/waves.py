"""The to-do set and its waves, computed in Spark: the plan never visits the driver.

A wave is a range of consecutive rows in (video_id, segment_index) order, at most `wave_segments` long, so a
video's segments stay together (split only at a wave boundary) and every wave but the last is full. The wave
number is the row's rank in that order divided by the wave size; the rank is a video's offset (a running sum
over one row per video) plus the segment's rank inside its video, so no window ever orders every segment
in one partition. Only counts per wave come back to the driver.
"""

from __future__ import annotations

from typing import Any

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
