"""Which catalog rows a restore run takes: a SQL predicate, ids, a date range, a content class.

All given criteria are ANDed. Videos already restored for the same config hash and file version are
always left out unless `force` is set, so "no criteria" means "all pending".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jobs.restore.predicate import check_predicate
from seedvr.errors import ConfigError


@dataclass(frozen=True)
class Selection:
    predicate: str | None = None
    ids: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    content_class: str | None = None
    force: bool = False
    limit: int | None = None

    def describe(self) -> str:
        parts = []
        if self.predicate:
            parts.append(f"predicate={self.predicate!r}")
        if self.ids:
            parts.append(f"ids={list(self.ids)[:5]}{'...' if len(self.ids) > 5 else ''}")
        if self.date_from or self.date_to:
            parts.append(f"added_date in [{self.date_from or '-inf'}, {self.date_to or '+inf'}]")
        if self.content_class:
            parts.append(f"content_class={self.content_class!r}")
        if self.limit:
            parts.append(f"limit={self.limit}")
        parts.append("all (force)" if self.force else "pending only")
        return ", ".join(parts)


def parse_date(value: str | None, flag: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{flag} must be a date YYYY-MM-DD, got {value!r}") from None


def _as_df(spark: Any, table: Any) -> tuple[Any, str]:
    if hasattr(table, "columns") and hasattr(table, "filter"):
        return table, "the catalog"
    if hasattr(table, "read") and hasattr(table, "label"):  # jobs.tables.TableRef
        return table.read(spark), table.label
    text = str(table)
    if "/" in text or "://" in text:
        return spark.read.format("delta").load(text), text
    return spark.table(text), text


_OBJECT_NAME = re.compile(r"ObjectName\(\[(.*?)\]\)")
_IDENTIFIER = re.compile(r"Identifier\(\"((?:[^\"\\\\]|\\\\.)*)\"\)")


def readable_names(message: str) -> str:
    """An engine's debug form of a name (Sail: `ObjectName([Identifier("a"), Identifier("b")])`) as `a.b`."""
    return _OBJECT_NAME.sub(lambda m: ".".join(_IDENTIFIER.findall(m.group(1))) or m.group(1), message)


def validate_predicate(spark: Any, table: Any, predicate: str) -> None:
    """Raise ConfigError unless `predicate` is a boolean SQL expression over `table`'s columns.

    `table` is a DataFrame, a TableRef, a catalog name or a Delta path. The check analyses the filter
    (limit 0: no data is read), so a typo fails before any GPU time is spent.
    """
    df, label = _as_df(spark, table)
    check_predicate(predicate, df.columns)  # parsed: only row-local constructs over the table's columns
    try:
        df.filter(predicate).limit(0).collect()
    except Exception as exc:  # noqa: BLE001 - engines raise different analysis errors
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        first = readable_names(first)
        raise ConfigError(
            f"--predicate {predicate!r} is not a valid filter on {label}: {first}. "
            f"Columns available: {', '.join(df.columns)}"
        ) from None


def apply_selection(spark: Any, videos: Any, sel: Selection) -> Any:
    """Filter a catalog DataFrame by the selection (the pending filter is applied by the caller)."""
    from pyspark.sql import functions as F

    df = videos
    if sel.predicate:
        validate_predicate(spark, videos, sel.predicate)
        df = df.filter(sel.predicate)
    if sel.ids:
        df = df.filter(F.col("video_id").isin(list(sel.ids)))
    if sel.date_from:
        df = df.filter(F.col("added_date") >= F.lit(sel.date_from))
    if sel.date_to:
        df = df.filter(F.col("added_date") <= F.lit(sel.date_to))
    if sel.content_class:
        df = df.filter(F.col("content_class") == sel.content_class)
    return df


def nothing_selected(videos: Any, sel: Selection, label: str, profile: str) -> str:
    """Why a run has nothing to do: an empty catalog (and what to run first), or a selection that matched
    no pending video. Reads at most one row, and only when nothing was selected."""
    if not videos.limit(1).collect():
        return (f"catalog {label} is empty (nothing ingested there yet): run seedvr-ingest --source "
                f"<folder or s3://bucket/prefix> --profile {profile} first, with the same table flags; "
                "nothing to do")
    return f"selection matched no pending videos ({sel.describe()}); nothing to do"


def make_selection(
    *,
    predicate: str | None = None,
    ids: Sequence[str] | str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    content_class: str | None = None,
    force: bool = False,
    limit: int | None = None,
) -> Selection:
    """From CLI strings: `ids` may be comma-separated; dates ISO; checks the range is ordered."""
    if isinstance(ids, str):
        ids = [i for i in ids.split(",")]
    id_list = tuple(i.strip() for i in (ids or ()) if i and i.strip())
    d0, d1 = parse_date(date_from, "--date-from"), parse_date(date_to, "--date-to")
    if d0 and d1 and d0 > d1:
        raise ConfigError(f"--date-from {d0} is after --date-to {d1}; swap them")
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit must be >= 1, got {limit}")
    return Selection(predicate=predicate or None, ids=id_list, date_from=d0, date_to=d1,
                     content_class=content_class or None, force=force, limit=limit)
