"""The to-do set and its waves, computed in Spark: the plan never visits the driver.

A wave is a range of consecutive rows in (video_id, segment_index) order, so a video's segments stay
together (split only at a wave boundary). Waves are cut on the running sum of each segment's expected
restore seconds (jobs.restore.wave_cost), a wave holding the segments that start within its `wave_s`, and at
most `wave_segments` of them. The running sum is a video's offset (a running sum over one row per video)
plus the running sum inside its video, so no window ever orders every segment in one partition. Only
counts and expected seconds per wave come back to the driver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyspark.sql.types import StructField, StructType

from jobs.restore.wave_cost import WaveSizing, with_cost
from jobs.schemas import SEGMENT_PLAN
from jobs.tables import TableRef, Tables, conform, merge
from seedvr.video.storage import filesystem
from udfs.schemas import D, L, utc_now

# A run's own plan rows: segment_plan's columns, the wave that restores the row (null: already done) and
# its expected restore seconds.
RUN_PLAN = StructType([*SEGMENT_PLAN.fields, StructField("wave", L, True), StructField("est_s", D, True)])

PLAN_KEY = ["video_id", "segment_index", "file_version"]


def mark_todo(plan: Any, done: Any | None) -> Any:
    """`plan` with a boolean `todo`: false for the keys in `done` (segments already ok), true otherwise."""
    from pyspark.sql import functions as F

    if done is None:
        return plan.withColumn("todo", F.lit(True))
    flags = done.select(*PLAN_KEY).distinct().withColumn("_done", F.lit(True))
    return (plan.join(flags, on=PLAN_KEY, how="left")
            .withColumn("todo", F.col("_done").isNull()).drop("_done"))


# Integer units of cost per 1/wave_segments of a wave. The running sums are then exact longs, so no float
# error lets a wave take one segment past the count cap, and count-only waves are exactly rank // count.
TICKS = 1000


def assign_waves(plan: Any, wave_segments: int, wave_s: float | None = None) -> Any:
    """`plan` (with `todo`, and `est_s` when `wave_s` is set) with a `wave` number for the rows to do, null
    for the others.

    Each segment weighs its share of `wave_s`, at least 1/wave_segments of a wave and at most one wave:
    wave k holds the segments whose running weight starts in [k, k + 1) waves, so it has at most
    `wave_segments` segments and, when time decides, an expected time within one segment's cost of
    `wave_s`. A segment longer than a wave closes its wave (and the next wave may come out shorter). As no
    weight exceeds a wave, consecutive starts are never two waves apart: every wave number holds at least
    one segment, with no renumbering."""
    return plan.join(todo_waves(plan, wave_segments, wave_s).drop("est_s"), on=PLAN_KEY, how="left")


def todo_waves(plan: Any, wave_segments: int, wave_s: float | None = None) -> Any:
    """The rows to do of `plan` as (PLAN_KEY, wave[, est_s when `wave_s` is set]): `assign_waves` without
    the join back to the whole plan, which is all an estimate needs."""
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    n = max(1, int(wave_segments))
    per_wave = n * TICKS
    if wave_s is None:
        weight, kept = F.lit(TICKS).cast("long"), []
    else:
        cost = F.coalesce(F.col("est_s"), F.lit(0.0)) * F.lit(per_wave / float(wave_s))
        weight = F.least(F.lit(per_wave).cast("long"),
                         F.greatest(F.lit(TICKS).cast("long"), F.ceil(cost).cast("long")))
        kept = ["est_s"]
    todo = plan.filter(F.col("todo")).select(*PLAN_KEY, *kept, weight.alias("_t"))
    per_video = todo.groupBy("video_id").agg(F.sum("_t").alias("_n"))
    # One row per video: the running sum is ordered in one partition (named, as it is meant), but over
    # videos, not segments.
    before = Window.partitionBy(F.lit(0)).orderBy("video_id").rowsBetween(Window.unboundedPreceding, -1)
    offsets = per_video.select("video_id", F.coalesce(F.sum("_n").over(before), F.lit(0)).alias("_offset"))
    inside = Window.partitionBy("video_id").orderBy("segment_index").rowsBetween(Window.unboundedPreceding, -1)
    # Integer division (`div`), so the cut is exact at any offset.
    start = F.expr(f"(_offset + _in) div {per_wave}")
    return (todo.select(*PLAN_KEY, *kept, F.coalesce(F.sum("_t").over(inside), F.lit(0)).alias("_in"))
            .join(offsets, on="video_id", how="inner")
            .select(*PLAN_KEY, *kept, start.cast("long").alias("wave")))


def _per_wave(plan: Any, cost: bool) -> list[Any]:
    """One row per wave: its segments and (with `cost`) the sum of their `est_s`."""
    from pyspark.sql import functions as F

    s = F.sum("est_s") if cost else F.lit(0.0)
    return plan.groupBy("wave").agg(F.count(F.lit(1)).alias("n"), s.alias("s")).collect()


def _ordered(rows: list[Any]) -> list[tuple[int, float]]:
    waves = {int(r["wave"]): (int(r["n"]), float(r["s"] or 0.0)) for r in rows if r["wave"] is not None}
    return [waves.get(i, (0, 0.0)) for i in range(max(waves) + 1)] if waves else []


def wave_sizes(plan: Any) -> tuple[int, list[int]]:
    """(rows planned, segments per wave in wave order) of a plan with `wave`: one row per wave comes back."""
    rows = _per_wave(plan, False)
    return sum(int(r["n"]) for r in rows), [n for n, _ in _ordered(rows)]


def wave_table(plan: Any) -> tuple[int, list[int], list[float]]:
    """(rows planned, segments per wave, expected seconds per wave) of a run's plan rows (RUN_PLAN)."""
    rows = _per_wave(plan, True)
    ordered = _ordered(rows)
    return sum(int(r["n"]) for r in rows), [n for n, _ in ordered], [s for _, s in ordered]


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


def run_key(run_id: str) -> str:
    """The part of a run id that names its plan table: ASCII letters and digits, at most 32."""
    return "".join(c for c in run_id if c.isascii() and c.isalnum())[:32]


def run_plan_ref(tables: Tables, run_id: str) -> TableRef:
    """Where a run keeps its own plan rows with their waves: a Delta table beside segment_plan (a folder
    under the tables root, or a catalog table next to it), dropped when the run ends."""
    key = run_key(run_id)
    plan = tables.segment_plan
    if plan.name:
        return TableRef("run_plan", name=f"{plan.name}_run_{key}")
    return TableRef("run_plan", path=f"{str(plan.path).rstrip('/')}_runs/{key}")


def record_plan(spark: Any, tables: Tables, plan: Any, *, sizing: WaveSizing, run_id: str,
                meta: str | None = None, log: Callable[[str], None] = lambda _m: None,
                ) -> tuple[Any, int, list[int], WaveSizing]:
    """Write a plan (with `todo`) and its waves to the run's own table, MERGE that into segment_plan, and
    return (this run's plan rows, segments planned, segments per wave, the sizing with each wave's expected
    seconds). Plan tables that killed runs left behind are removed first (jobs.restore.maintenance.remove_stale_run_plans).

    The planner and the wave windows run once, in the append: MERGE reads its source twice, and Sail's
    MERGE from a computed source took 35x longer than from a table. The waves then filter that small
    table, so nothing is planned again."""
    from pyspark.sql import functions as F

    from jobs.restore.maintenance import remove_stale_run_plans

    remove_stale_run_plans(spark, tables, keep=run_id, log=log)
    priced, wave_s = _priced(spark, tables, plan, sizing)
    rows = (assign_waves(priced, sizing.wave_segments, wave_s).drop("todo")
            .withColumn("planned_at", F.lit(utc_now())).withColumn("run_id", F.lit(run_id)))
    ref = run_plan_ref(tables, run_id)
    ref.append(conform(rows, RUN_PLAN), user_metadata=meta)
    mine = ref.read(spark)
    merge(spark, tables.segment_plan, conform(mine, SEGMENT_PLAN), user_metadata=meta)
    planned, waves, expected = wave_table(mine)
    return mine, planned, waves, sizing.with_expected(expected)


def estimate_waves(plan: Any | None, spark: Any, tables: Tables, sizing: WaveSizing) -> WaveSizing:
    """The waves a run would cut from `plan` (with `todo`; None: nothing planned), computed as the run does
    and written nowhere: the sizing with each wave's expected seconds (one row per wave comes back)."""
    if plan is None:
        return sizing
    priced, wave_s = _priced(spark, tables, plan, sizing)
    rows = _per_wave(todo_waves(priced, sizing.wave_segments, wave_s), wave_s is not None)
    return sizing.with_expected([s for _, s in _ordered(rows)])


def _priced(spark: Any, tables: Tables, plan: Any, sizing: WaveSizing) -> tuple[Any, float | None]:
    """(`plan` with each segment's expected seconds, the time target) when time can decide; a rate of 0 (the
    identity preset's estimate) leaves the count alone to decide, and spares the join with the videos."""
    if sizing.wave_s is None or sizing.rate <= 0:
        return plan, None
    return with_cost(plan, tables.videos.read(spark), sizing), sizing.wave_s


def drop_run_plan(spark: Any, tables: Tables, run_id: str) -> None:
    """Remove the run's own plan table (its rows are in segment_plan) and its planner's output; a run
    killed before this leaves folders that a later run removes (maintenance.remove_stale_run_plans)."""
    for ref in (run_plan_ref(tables, run_id), planner_output_ref(tables, run_id)):
        drop_table(spark, ref)


def drop_table(spark: Any, ref: TableRef) -> None:
    """Remove a table of the run's own (a catalog table, or a folder under the tables root), if there."""
    if ref.name:
        spark.sql(f"DROP TABLE IF EXISTS {ref.name}").collect()
        return
    fs, path = filesystem(str(ref.path))
    if fs.exists(path):
        fs.rm(path, recursive=True)


def planner_output_ref(tables: Tables, run_id: str) -> TableRef:
    """Where a run keeps what its planner returned (segments and planning failures): beside the run's own
    plan table, dropped with it (`drop_run_plan`)."""
    ref = run_plan_ref(tables, run_id)
    if ref.name:
        return TableRef("planner_output", name=f"{ref.name}_planned")
    return TableRef("planner_output", path=f"{ref.path}_planned")


def planned_once(spark: Any, tables: Tables, planned: Any, run_id: str, meta: str | None = None) -> Any:
    """The planner's output (`planned`, computed from the catalog) written once to the run's table and
    read back: its failures, the totals, the waves and the MERGE all read that table, where each read of
    the computed frame would run the planner over the catalog again."""
    ref = planner_output_ref(tables, run_id)
    ref.append(planned, user_metadata=meta)
    return ref.read(spark)
