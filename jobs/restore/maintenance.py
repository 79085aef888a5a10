"""Compaction and vacuum of the job's Delta tables at the end of a run (or from a schedule).

Each wave appends its segment rows to staging and MERGEs them into the results, so a long backfill
leaves thousands of small files that slow every later read. Catalog tables (Databricks) get the native
`OPTIMIZE` and `VACUUM ... RETAIN n HOURS`; path tables on an engine without those commands (Sail) get
delta-rs's `optimize.compact()` and `vacuum()`. Maintenance never fails a run: a table it cannot
maintain is reported in one line and left as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jobs.config import TablesConfig
from jobs.tables import TableRef, Tables


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
