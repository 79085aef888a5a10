"""Compaction and vacuum of the job's Delta tables at the end of a run (or from a schedule).

Each wave appends its segment rows to staging and MERGEs them into the results, so a long backfill
leaves thousands of small files that slow every later read. Catalog tables (Databricks) get the native
`OPTIMIZE` and `VACUUM ... RETAIN n HOURS`; path tables on an engine without those commands (Sail) get
delta-rs's `optimize.compact()` and `vacuum()`. Maintenance never fails a run: a table it cannot
maintain is reported in one line and left as it was.

A run keeps its plan rows in a table of its own (jobs.restore.waves.run_plan_ref) and drops it at its end;
a killed run leaves it behind. Every run first removes those of runs that are not running: tables last
written, and with no segment staged, for longer than `STALE_RUN_PLAN_HOURS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jobs.config import TablesConfig
from jobs.tables import TableRef, Tables
from seedvr.video.storage import filesystem

# A run writes its plan table once, at its start, then stages a segment every wave (minutes apart): a plan
# table older than this whose run staged nothing for as long belongs to no running run.
STALE_RUN_PLAN_HOURS = 24.0


@dataclass(frozen=True)
class Maintained:
    table: str
    files_before: int | None = None
    files_after: int | None = None
    vacuumed: int = 0
    seconds: float = 0.0
    error: str | None = None

    def line(self) -> str:
        if self.error:
            return f"{self.table}: not maintained ({self.error})"
        if self.files_before == self.files_after:
            return f"{self.table}: {self.files_after} files, nothing to compact"
        return (f"{self.table}: {self.files_before} -> {self.files_after} files"
                + (f", {self.vacuumed} old files removed" if self.vacuumed else "") + f" ({self.seconds:.1f}s)")


def _storage_options(path: str) -> dict[str, str]:
    """delta-rs reads the AWS_* environment itself; an http endpoint (a local S3) must be allowed."""
    import os

    opts: dict[str, str] = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if path.startswith(("s3://", "s3a://")) and endpoint and endpoint.startswith("http://"):
        opts["AWS_ALLOW_HTTP"] = "true"
    return opts


def _path_table(ref: TableRef, cfg: TablesConfig) -> Maintained:
    from deltalake import DeltaTable

    t0 = time.perf_counter()
    opts = _storage_options(str(ref.path))
    dt = DeltaTable(str(ref.path), storage_options=opts or None)
    before = len(dt.file_uris())
    after, vacuumed = before, 0
    if before >= cfg.compact_min_files:
        dt.optimize.compact()
        dt = DeltaTable(str(ref.path), storage_options=opts or None)
        after = len(dt.file_uris())
        if cfg.vacuum_retention_hours is not None:
            vacuumed = len(dt.vacuum(retention_hours=int(cfg.vacuum_retention_hours), dry_run=False,
                                     enforce_retention_duration=False))
    return Maintained(ref.kind, before, after, vacuumed, time.perf_counter() - t0)


def _catalog_table(spark: Any, ref: TableRef, cfg: TablesConfig) -> Maintained:
    t0 = time.perf_counter()
    before = int(spark.sql(f"DESCRIBE DETAIL {ref.sql}").collect()[0]["numFiles"])
    after = before
    if before >= cfg.compact_min_files:
        spark.sql(f"OPTIMIZE {ref.sql}")
        after = int(spark.sql(f"DESCRIBE DETAIL {ref.sql}").collect()[0]["numFiles"])
        if cfg.vacuum_retention_hours is not None:
            spark.sql(f"VACUUM {ref.sql} RETAIN {cfg.vacuum_retention_hours:g} HOURS")
    return Maintained(ref.kind, before, after, 0, time.perf_counter() - t0)


def maintain_tables(spark: Any, tables: Tables, cfg: TablesConfig,
                    log: Callable[[str], None] = lambda _m: None) -> list[Maintained]:
    """Compact (and vacuum) every table with at least `cfg.compact_min_files` files; one result each."""
    out = []
    for ref in tables.all():
        try:
            m = _path_table(ref, cfg) if ref.path else _catalog_table(spark, ref, cfg)
        except Exception as exc:  # noqa: BLE001 - the run's results are committed; maintenance is best effort
            m = Maintained(ref.kind, error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        if m.error or m.files_before != m.files_after:
            log(f"tables: {m.line()}")
        out.append(m)
    return out


def _modified_s(info: dict[str, Any]) -> float | None:
    """A file's modification time in epoch seconds, as local (`mtime`) and object stores (`LastModified`)
    describe it."""
    import datetime as dt

    v = info.get("mtime", info.get("LastModified", info.get("last_modified")))
    if isinstance(v, dt.datetime):
        return (v if v.tzinfo else v.replace(tzinfo=dt.timezone.utc)).timestamp()
    try:
        return float(v) if v is not None else None
    except (TypeError, ValueError):
        return None


def _last_write_s(fs: Any, path: str) -> float | None:
    """When a Delta table folder was last written: its newest log entry (its last commit), else its newest
    file, else the folder itself."""
    for where in (f"{path}/_delta_log", path):
        times = [t for info in fs.find(where, detail=True).values() if (t := _modified_s(info)) is not None]
        if times:
            return max(times)
    return _modified_s(fs.info(path))


def _recently_staged(spark: Any, tables: Tables, keys: list[str], since_s: float) -> set[str]:
    """The run keys among `keys` that staged a segment after `since_s` (one row per such run comes back)."""
    import datetime as dt

    from pyspark.sql import functions as F

    key = F.substring(F.regexp_replace(F.col("run_id"), "[^0-9A-Za-z]", ""), 1, 32)
    since = dt.datetime.fromtimestamp(since_s, dt.timezone.utc).replace(tzinfo=None)
    rows = (tables.segment_staging.read(spark).select(key.alias("k"), "staged_at")
            .filter(F.col("k").isin(keys) & (F.col("staged_at") > F.lit(since))).select("k").distinct().collect())
    return {r["k"] for r in rows}


def _stale_path_plans(fs: Any, root: str, keep: str, cutoff_s: float) -> dict[str, str]:
    out = {}
    for info in fs.ls(root, detail=True):
        path = info["name"].rstrip("/")
        key = path.rsplit("/", 1)[-1]
        if info.get("type") == "directory" and key != keep:
            last = _last_write_s(fs, path)
            if last is None or last < cutoff_s:
                out[key] = path
    return out


def _stale_catalog_plans(spark: Any, plan_name: str, keep: str, cutoff_s: float) -> dict[str, str]:
    import datetime as dt

    schema, leaf = plan_name.rsplit(".", 1) if "." in plan_name else ("", plan_name)
    rows = spark.sql(f"SHOW TABLES {'IN ' + schema + ' ' if schema else ''}LIKE '{leaf}_run_*'").collect()
    out = {}
    for r in rows:
        name = f"{schema + '.' if schema else ''}{r['tableName']}"
        key = r["tableName"][len(leaf) + len("_run_"):]
        if key == keep or not key:
            continue
        last = spark.sql(f"DESCRIBE DETAIL {name}").collect()[0]["lastModified"]
        if isinstance(last, dt.datetime):
            last = (last if last.tzinfo else last.replace(tzinfo=dt.timezone.utc)).timestamp()
        if last is None or float(last) < cutoff_s:
            out[key] = name
    return out


def remove_stale_run_plans(spark: Any, tables: Tables, *, keep: str | None = None,
                           older_than_h: float = STALE_RUN_PLAN_HOURS, now_s: float | None = None,
                           log: Callable[[str], None] = lambda _m: None) -> list[str]:
    """Remove the plan tables of runs that are not running (not `keep`, the current run id; last written
    more than `older_than_h` ago; no segment staged since). Returns what was removed; never raises."""
    from jobs.restore.waves import run_key

    cutoff = (time.time() if now_s is None else now_s) - 3600.0 * older_than_h
    keep_key = run_key(keep) if keep else ""
    plan = tables.segment_plan
    try:
        if plan.name:
            stale = _stale_catalog_plans(spark, plan.name, keep_key, cutoff)
        else:
            fs, root = filesystem(f"{str(plan.path).rstrip('/')}_runs")
            stale = _stale_path_plans(fs, root, keep_key, cutoff) if fs.exists(root) else {}
        if stale:
            for k in _recently_staged(spark, tables, sorted(stale), cutoff):
                stale.pop(k)
        for where in stale.values():
            if plan.name:
                spark.sql(f"DROP TABLE IF EXISTS {where}").collect()
            else:
                fs.rm(where, recursive=True)
    except Exception as exc:  # noqa: BLE001 - leftovers cost disk, never a run
        log(f"tables: leftover run plan tables not removed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")
        return []
    if stale:
        log(f"tables: removed the plan table{'s' if len(stale) > 1 else ''} of {len(stale)} "
            f"run{'s' if len(stale) > 1 else ''} not running for {older_than_h:g} h: "
            + ", ".join(sorted(stale.values())))
    return sorted(stale.values())
