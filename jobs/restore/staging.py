"""Staging and recovery of segment results: append, then MERGE by key; merge what a killed run staged.

MERGE reads its source twice, so the GPU stage never feeds it directly: its rows are appended to the
staging table first (one commit per wave), and the MERGE reads them back from there.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from jobs.schemas import SEGMENT_RESULTS
from jobs.tables import Tables, conform, merge
from seedvr.errors import ConfigError, first_line
from seedvr.video.storage import atomic_write, check_bucket, remove

# Test hook: SIGKILL this process right after the N-th staging append (kill/resume tests).
KILL_AFTER_STAGED_ENV = "SEEDVR_KILL_AFTER_STAGED"


def check_output_writable(output_root: str) -> None:
    """Write and delete a marker under the output root, so an unwritable location fails up front."""
    url = output_root.rstrip("/") + "/.seedvr-write-check"
    check_bucket(output_root)
    try:
        with atomic_write(url) as tmp, open(tmp, "wb") as f:
            f.write(b"ok")
        remove(url)
    except Exception as exc:  # noqa: BLE001
        raise ConfigError(
            f"output root {output_root!r} is not writable ({first_line(exc)}); "
            "fix the permissions or point storage.output_root (--output-root) elsewhere"
        ) from None


def _latest_per_key(df: Any, keys: list[str], order_col: str) -> Any:
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    w = Window.partitionBy(*keys).orderBy(F.col(order_col).desc())
    return df.withColumn("_rn", F.row_number().over(w)).filter("_rn = 1").drop("_rn")


def merge_staged(spark: Any, tables: Tables, staged: Any, meta: str) -> None:
    """MERGE staged segment rows (latest per key) into segment_results; a failure never replaces an ok."""
    src = conform(_latest_per_key(staged, ["video_id", "config_hash", "segment_index"], "staged_at"),
                  SEGMENT_RESULTS)
    merge(spark, tables.segments, src,
          update_when="s.status = 'ok' OR t.status <> 'ok' OR t.file_version <> s.file_version",
          user_metadata=meta)


def recover_staged(spark: Any, tables: Tables, chash: str, meta: str) -> int:
    """Merge staged rows of this config that are newer than what segment_results holds for their key
    (rows an interrupted run appended but never merged). Older attempts are history and stay staged."""
    from pyspark.sql import functions as F

    key = ["video_id", "config_hash", "segment_index"]
    staged = tables.segment_staging.read(spark).filter(F.col("config_hash") == chash)
    current = (tables.segments.read(spark).filter(F.col("config_hash") == chash)
               .select(*key, F.col("staged_at").alias("_current_at")))
    newer = (staged.join(current, on=key, how="left")
             .filter(F.col("_current_at").isNull() | (F.col("staged_at") > F.col("_current_at")))
             .drop("_current_at"))
    n = newer.count()
    if n:
        merge_staged(spark, tables, newer, meta)
    return n


def maybe_kill(counter: list[int]) -> None:
    limit = os.environ.get(KILL_AFTER_STAGED_ENV)
    counter[0] += 1
    if limit and counter[0] >= int(limit):
        os.kill(os.getpid(), signal.SIGKILL)
