"""Every selection mode on one small catalog: predicate, ids, date range, content class, nothing matched,
and a predicate that does not parse (clear error before any work)."""

from __future__ import annotations

import datetime as dt

import pytest

from jobs.catalog.register import ingest
from jobs.restore.pipeline import run_restore
from jobs.restore.selection import make_selection, validate_predicate
from jobs.tables import ensure_tables, table_refs
from seedvr.errors import ConfigError
from tests.jobs.helpers import make_catalog, tiny_config


@pytest.fixture(scope="module")
def catalog(spark, make_video, tmp_path_factory):
    root = tmp_path_factory.mktemp("sel")
    paths = make_catalog(make_video, str(root / "src"), n=4, frames=5)
    manifest = [{"path": p, "video_id": f"vid-{i}", "content_class": "ai_generated" if i % 2 else "archive"}
                for i, p in enumerate(paths)]
    cfg = tiny_config(str(root))
    tables = table_refs(cfg.tables)
    ensure_tables(spark, tables)
    ingest(spark, cfg, tables, source=str(root / "src"), run_id="i", manifest=manifest)
    return cfg, tables


def _picked(spark, cfg, tables, **sel) -> set[str]:
    rep = run_restore(spark, cfg, make_selection(force=True, **sel), track=False)
    return set(rep.restorations["video_id"]) if rep.selected else set()


def test_ids(catalog, spark) -> None:
    assert _picked(spark, *catalog, ids="vid-0, vid-3") == {"vid-0", "vid-3"}


def test_predicate(catalog, spark) -> None:
    assert _picked(spark, *catalog, predicate="video_id IN ('vid-1', 'vid-2') AND num_frames = 5") == {"vid-1", "vid-2"}


def test_content_class(catalog, spark) -> None:
    assert _picked(spark, *catalog, content_class="ai_generated") == {"vid-1", "vid-3"}


def test_date_range(catalog, spark) -> None:
    today = dt.datetime.now(dt.timezone.utc).date()
    assert len(_picked(spark, *catalog, date_from=str(today - dt.timedelta(days=1)), date_to=str(today))) == 4
    assert _picked(spark, *catalog, date_to=str(today - dt.timedelta(days=1))) == set()


def test_pending_only_by_default(catalog, spark) -> None:
    cfg, tables = catalog
    run_restore(spark, cfg, make_selection(ids="vid-2"), track=False)
    rep = run_restore(spark, cfg, make_selection(ids="vid-2"), track=False)
    assert rep.selected == 0 and "no pending videos" in rep.message


def test_nothing_matched_is_a_clear_message(catalog, spark) -> None:
    rep = run_restore(spark, catalog[0], make_selection(content_class="no-such-class"), track=False)
    assert rep.selected == 0 and "no-such-class" in rep.message and rep.restorations.empty


def test_bad_predicate_fails_up_front_naming_columns(catalog, spark) -> None:
    cfg, tables = catalog
    with pytest.raises(ConfigError) as e:
        validate_predicate(spark, tables.videos, "contnet_class = 'archive'")
    assert "contnet_class" in str(e.value) and "content_class" in str(e.value)
    staged = tables.segment_staging.read(spark).count()
    with pytest.raises(ConfigError, match="not a valid filter"):
        run_restore(spark, cfg, make_selection(predicate="num_frames >>> 2"), track=False)
    assert tables.segment_staging.read(spark).count() == staged  # nothing ran
    with pytest.raises(ConfigError, match="single expression"):
        validate_predicate(spark, tables.videos, "true; DROP TABLE x")


def test_validate_predicate_accepts_paths_and_names(catalog, spark) -> None:
    _, tables = catalog
    validate_predicate(spark, tables.videos.path, "num_frames > 0")


def test_bad_dates_rejected() -> None:
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        make_selection(date_from="yesterday")
    with pytest.raises(ConfigError, match="after"):
        make_selection(date_from="2026-02-01", date_to="2026-01-01")


@pytest.mark.parametrize("predicate, refused", [
    ("EXISTS (SELECT 1 FROM text.`/etc/passwd` WHERE value LIKE 'root:%')", "EXISTS"),
    ("num_frames > (SELECT max(num_frames) FROM videos)", "subquery"),
    ("reflect('java.lang.Thread', 'sleep', 1000) IS NULL", "'reflect'"),
    ("input_file_name() LIKE '%passwd%'", "'input_file_name'"),
    ("v.num_frames > 0", "names a table"),
])
def test_predicate_that_reaches_outside_the_row_is_refused(catalog, spark, predicate, refused) -> None:
    _, tables = catalog
    with pytest.raises(ConfigError, match="not allowed|names a table") as e:
        validate_predicate(spark, tables.videos, predicate)
    assert refused in str(e.value)


def test_row_local_predicates_are_accepted(catalog, spark) -> None:
    _, tables = catalog
    validate_predicate(spark, tables.videos, "lower(content_class) IN ('archive', 'ai_generated') AND "
                                            "num_frames BETWEEN 1 AND 10000 AND added_date >= date_sub(current_date(), 7)")


def test_unknown_column_suggests_the_closest() -> None:
    from jobs.restore.predicate import check_predicate, did_you_mean

    with pytest.raises(ConfigError, match=r"unknown column 'vidoe_id' \(did you mean video_id\?\); columns "
                                          r"available: content_class, uri, video_id$"):
        check_predicate("vidoe_id = 'x'", ["video_id", "uri", "content_class"])
    assert did_you_mean("zzz", ["video_id", "uri"]) == ""


def test_engine_names_are_shown_as_written() -> None:
    from jobs.restore.selection import readable_names

    assert readable_names('cannot resolve ObjectName([Identifier("vidoe_id")])') == "cannot resolve vidoe_id"
    assert readable_names('ObjectName([Identifier("t"), Identifier("c")]) x') == "t.c x"


def test_empty_catalog_says_what_to_run(spark, tmp_path) -> None:
    from jobs.restore.selection import nothing_selected

    cfg = tiny_config(str(tmp_path))
    tables = table_refs(cfg.tables)
    ensure_tables(spark, tables)
    msg = nothing_selected(tables.videos.read(spark), make_selection(), tables.videos.label, "local")
    assert msg.startswith(f"catalog {tables.videos.label} is empty") and "seedvr-ingest --source" in msg
