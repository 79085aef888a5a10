"""Ingest: register the videos under a folder or bucket prefix in the catalog table, probing on executors.

Files are listed with fsspec on the driver (never Sail's `binaryFile`, which duplicates rows), and each
file's version is the digest of (size, etag, mtime). A second ingest of an unchanged tree probes nothing
and writes nothing; a changed file is re-probed, its catalog row updated in place (added_date kept), and
its restorations marked `stale`, which makes them pending again for the next restore run (the old output
stays at its key until then; the new output goes to a key with the new file version).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import fsspec
import pandas as pd

from jobs.config import JobConfig
from jobs.schemas import VIDEOS
from jobs.tables import Tables, commit_metadata, merge, row_waves
from seedvr.errors import ConfigError
from seedvr.video.storage import check_bucket, filesystem, location, sanitize_key_component
from udfs.arrow_stage import map_stage
from udfs.probe import ProbeVideos
from udfs.schemas import frame_for, utc_now


@dataclass
class IngestReport:
    run_id: str
    listed: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    probed_ok: int = 0
    probed_failed: int = 0
    # Unchanged files analysed now because they were ingested before the analysis existed.
    analysed_again: int = 0
    video_ids: list[str] = field(default_factory=list)
    # Files under the source that were not registered, with the reason (uri, reason).
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _mtime(info: Mapping[str, Any]) -> dt.datetime | None:
    v = info.get("mtime", info.get("LastModified", info.get("last_modified", info.get("created"))))
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.timezone.utc).replace(tzinfo=None) if v.tzinfo else v
    try:
        return dt.datetime.fromtimestamp(float(v), dt.timezone.utc).replace(tzinfo=None)
    except (TypeError, ValueError):
        return None


def file_version(size: int | None, etag: str | None, mtime: dt.datetime | None) -> str:
    """16 hex chars identifying one version of a file's bytes as the store describes them."""
    blob = f"{size}|{etag or ''}|{mtime.isoformat() if mtime else ''}"
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def make_video_id(uri: str) -> str:
    """Readable and stable: the file's stem plus 8 hex chars of the URI's digest."""
    stem = os.path.splitext(uri.rstrip("/").rsplit("/", 1)[-1])[0] or "video"
    return f"{sanitize_key_component(stem, max_len=60)}-{hashlib.sha256(uri.encode()).hexdigest()[:8]}"


def list_videos(source: str, extensions: Sequence[str]) -> pd.DataFrame:
    """uri, size_bytes, etag, mtime, file_version for every file under `source` with a video extension."""
    return scan_source(source, extensions)[0]


def scan_source(source: str, extensions: Sequence[str]) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """The listing of `list_videos` and every other file found, with why it was skipped.

    Entries that are not regular files (FIFOs, devices, links) but carry a video extension are listed:
    the probe refuses them unopened, so they become failed catalog rows that say what they are.
    """
    fs, root = filesystem(source)
    exts = tuple(e.lower() for e in extensions)
    try:
        if fs.isfile(root):
            found = {root: fs.info(root)}
        else:
            found = fs.find(root, detail=True)
    except FileNotFoundError:
        raise ConfigError(f"ingest source {source!r} does not exist; check the path or bucket prefix") from None
    rows, skipped = [], []
    for path, info in sorted(found.items()):
        if info.get("type") == "directory":
            continue
        uri = fs.unstrip_protocol(path) if "://" in source else os.path.abspath(path)
        if not path.lower().endswith(exts):
            ext = os.path.splitext(path)[1].lower() or "(none)"
            skipped.append((uri, f"extension {ext} is not in ingest.extensions"))
            continue
        size = info.get("size")
        etag = info.get("ETag") or info.get("etag")
        etag = str(etag).strip('"') if etag else None
        mtime = _mtime(info)
        rows.append({"uri": uri, "size_bytes": int(size) if size is not None else None, "etag": etag,
                     "mtime": mtime, "file_version": file_version(size, etag, mtime)})
    return pd.DataFrame(rows, columns=["uri", "size_bytes", "etag", "mtime", "file_version"]), skipped


def load_manifest(path: str) -> list[dict[str, Any]]:
    """A JSON list of rows with `path` (or `uri`) and optional `video_id`, `content_class`."""
    with fsspec.open(path, "r") as f:
        rows = json.load(f)
    if not isinstance(rows, list):
        raise ConfigError(f"manifest {path} must be a JSON list of rows with 'path' and 'content_class'")
    return rows


def _manifest_index(rows: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    out = {}
    for r in rows:
        p = r.get("uri") or r.get("path")
        if p:
            out[str(p) if "://" in str(p) else os.path.abspath(str(p))] = r
    return out


def ingest(
    spark: Any,
    cfg: JobConfig,
    tables: Tables,
    *,
    source: str,
    run_id: str,
    content_class: str | None = None,
    manifest: Sequence[Mapping[str, Any]] = (),
    user_metadata: Mapping[str, Any] | None = None,
) -> IngestReport:
    """List, diff against the catalog, probe what is new or changed, MERGE it; mark stale restorations.

    With a `manifest`, only the files it names are registered, with its video ids and content classes.
    """
    report = IngestReport(run_id=run_id)
    check_bucket(source)
    listing, report.skipped = scan_source(source, cfg.ingest.extensions)
    index = _manifest_index(manifest)
    if index:  # a manifest names the videos; other files under the source (ground truths, ...) are not
        unnamed = ~listing["uri"].isin(index)
        report.skipped += [(u, "not named in the manifest") for u in listing.loc[unnamed, "uri"]]
        listing = listing[~unnamed].reset_index(drop=True)
    report.listed = len(listing)
    if listing.empty:
        return report
    listing["video_id"] = [str(index.get(u, {}).get("video_id") or make_video_id(u)) for u in listing["uri"]]
    listing["content_class"] = [
        str(index.get(u, {}).get("content_class") or content_class or cfg.ingest.content_class)
        for u in listing["uri"]
    ]
    existing = (
        tables.videos.read(spark).select("video_id", "file_version", "probe_status", "analysis_json").toPandas()
    )
    known = dict(zip(existing["video_id"], existing["file_version"], strict=True))
    is_new = ~listing["video_id"].isin(known)
    is_changed = ~is_new & (listing["video_id"].map(known) != listing["file_version"])
    report.new, report.changed = int(is_new.sum()), int(is_changed.sum())
    report.unchanged = report.listed - report.new - report.changed
    # Unchanged files probed before analysis existed are analysed now, once.
    unanalysed = set(existing.loc[(existing["probe_status"] == "ok") & existing["analysis_json"].isna(), "video_id"])
    needs_analysis = ~is_new & ~is_changed & listing["video_id"].isin(unanalysed) if cfg.ingest.analyse else False
    report.analysed_again = int(needs_analysis.sum()) if cfg.ingest.analyse else 0
    todo = listing[is_new | is_changed | needs_analysis]
    root = location(source)
    prober = ProbeVideos(timeout_s=cfg.execution.probe_timeout_s, max_memory_mb=cfg.execution.probe_max_memory_mb,
                         roots=(*cfg.ingest.source_roots, root), analyse=cfg.ingest.analyse,
                         analysis_timeout_s=cfg.execution.decode_timeout_s, shots=cfg.ingest.shots)
    now = utc_now()
    meta = commit_metadata(user_metadata or {}, run_id=run_id, operation="ingest")
    for wave in row_waves(todo, cfg.ingest.wave_files):
        paths = spark.createDataFrame(wave[["video_id", "uri"]])
        slots = max(1, min(cfg.execution.probe_slots, len(wave)))
        probed = map_stage(paths.repartition(slots, "video_id"), prober, ProbeVideos.output_schema).toPandas()
        rows = wave.drop(columns=["uri"]).merge(probed, on="video_id", how="left")
        rows["added_date"] = now.date()
        rows["added_at"] = now
        rows["ingest_run_id"] = run_id
        rows["source_root"] = root
        report.probed_ok += int((rows["probe_status"] == "ok").sum())
        report.probed_failed += int((rows["probe_status"] != "ok").sum())
        report.video_ids += list(rows["video_id"])
        src = spark.createDataFrame(frame_for(rows.to_dict(orient="records"), VIDEOS), VIDEOS)
        keep = {"video_id", "added_date", "added_at"}  # first-seen date survives a re-probe
        merge(spark, tables.videos, src, update_columns=[c for c in VIDEOS.fieldNames() if c not in keep],
              user_metadata=meta)
    if report.changed:
        changed = spark.createDataFrame(listing[is_changed][["video_id", "file_version"]])
        mark_stale(spark, tables, changed, user_metadata=meta)
    return report


def mark_stale(spark: Any, tables: Tables, changed: Any, *, user_metadata: str | None = None) -> None:
    """Restorations of an older file version become `stale` (and therefore pending again)."""
    from pyspark.sql import functions as F

    src = changed.select("video_id", F.col("file_version").alias("new_version"), F.lit("stale").alias("status"))
    merge(spark, tables.restorations, src, keys=["video_id"], insert=False, update_columns=["status"],
          update_when="t.file_version <> s.new_version AND t.status <> 'stale'", user_metadata=user_metadata)
