"""Waves sized by expected restore time: segment costs in Spark, the count cap, count-only waves, the
measured rate, and the plan tables a killed run leaves behind."""

from __future__ import annotations

import os
import time

import pytest

from jobs.restore.maintenance import remove_stale_run_plans
from jobs.restore.wave_cost import (
    WaveSizing,
    measured_rate,
    output_pixels,
    rate_of,
    segment_seconds,
    with_cost,
)
from jobs.restore.waves import assign_waves, mark_todo, run_plan_ref, wave_sizes, wave_table
from jobs.tables import ensure_tables, table_refs
from seedvr.checkpoints.presets import PRESETS
from seedvr.restorer.target import TargetSize
from tests.jobs.helpers import tiny_config

PLAN_DDL = "video_id string, segment_index int, file_version string, window_start long, last_output long"
SCALE1 = TargetSize("scale", 1.0, 2)


def _plan(spark, videos: dict[str, tuple[int, int, int]], window: int = 9):
    """`videos`: id -> (segments, width, height); every window `window` frames long."""
    rows = [(v, i, "f1", i * (window - 1), i * (window - 1) + window - 1)
            for v, (n, _, _) in videos.items() for i in range(n)]
    plan = mark_todo(spark.createDataFrame(rows, PLAN_DDL), None)
    sizes = spark.createDataFrame([(v, w, h) for v, (_, w, h) in videos.items()],
                                  "video_id string, width int, height int")
    return plan, sizes


def _waves(df) -> list[tuple[str, int, int, float]]:
    """(video, segment, wave, est_s) in key order."""
    return [(r.video_id, r.segment_index, r.wave, r.est_s) for r in
            df.select("video_id", "segment_index", "wave", "est_s").orderBy("video_id", "segment_index").collect()]


def _check_ranges(rows: list[tuple[str, int, int, float]]) -> None:
    """Waves are consecutive ranges of the key order, numbered from 0 without gaps."""
    waves = [w for _, _, w, _ in rows]
    assert waves[0] == 0 and all(b - a in (0, 1) for a, b in zip(waves, waves[1:], strict=False)), waves


def test_output_pixels_match_target_size(spark) -> None:
    sizes = [(48, 32), (1920, 1080), (1280, 720), (720, 480), (853, 480), (3840, 2160), (481, 271), (17, 3)]
    df = spark.createDataFrame(sizes, "width int, height int")
    for target in (TargetSize("area", 1280 * 720, 2), TargetSize("short_side", 720, 2),
                   TargetSize("scale", 1.5, 1), TargetSize("scale", 0.5, 2), TargetSize("area", 100_000, 16)):
        got = {(r.width, r.height): r.p for r in
               df.select("width", "height", output_pixels("width", "height", target).alias("p")).collect()}
        want = {(w, h): oh * ow for w, h in sizes for oh, ow in [target.output_size(h, w)]}
        assert got == want, target


def test_big_and_small_videos_get_waves_of_similar_time(spark) -> None:
    """A 1080p video's waves hold fewer segments than a 240p one's, for about the same expected time."""
    plan, sizes = _plan(spark, {"a_big": (12, 1920, 1080), "b_small": (250, 320, 240), "c_big": (5, 1920, 1080)})
    rate = 0.5
    big, small = (segment_seconds(9, w * h, rate) for w, h in ((1920, 1080), (320, 240)))
    wave_s = 4 * big  # 4 big segments, or 108 small ones (the cap of 256 does not bind)
    sizing = WaveSizing(256, wave_s, rate, "test", SCALE1)
    rows = _waves(assign_waves(with_cost(plan, sizes, sizing), 256, wave_s))
    _check_ranges(rows)
    assert {v: e for v, _, _, e in rows} == pytest.approx({"a_big": big, "b_small": small, "c_big": big})
    per_wave: dict[int, list[tuple[str, float]]] = {}
    for v, _, w, e in rows:
        per_wave.setdefault(w, []).append((v, e))
    totals = [sum(e for _, e in segs) for segs in per_wave.values()]
    # Every wave but the last is within one segment's cost of the target.
    assert all(wave_s - big <= t <= wave_s + big for t in totals[:-1]), totals
    assert len(per_wave[0]) == 4 and all(v == "a_big" for v, _ in per_wave[0])
    small_only = [len(segs) for segs in per_wave.values() if {v for v, _ in segs} == {"b_small"}]
    assert len(small_only) == 2 and all(100 <= n <= 110 for n in small_only), small_only
    # A video is split only where a wave ends: each wave holds one range of each video.
    for v in ("a_big", "b_small", "c_big"):
        waves = [w for vid, _, w, _ in rows if vid == v]
        assert waves == sorted(waves)


def test_wave_segments_still_caps_the_count(spark) -> None:
    plan, sizes = _plan(spark, {"v0": (7, 32, 48), "v1": (6, 32, 48)})
    sizing = WaveSizing(4, 3600.0, 1.0, "test", SCALE1)  # an hour a wave: tiny segments, the cap decides
    waved = assign_waves(with_cost(plan, sizes, sizing), 4, 3600.0)
    _check_ranges(_waves(waved))
    assert wave_sizes(waved) == (13, [4, 4, 4, 1])


def test_count_only_waves_are_the_old_ones(spark) -> None:
    """wave_minutes null: the count alone, whatever the costs (the rows of a kept `est_s` are ignored)."""
    plan, sizes = _plan(spark, {"v0": (5, 1920, 1080), "v1": (1, 32, 48), "v2": (7, 1920, 1080)})
    costly = with_cost(plan, sizes, WaveSizing(4, 1.0, 1.0, "test", SCALE1))
    by_count = {(v, i): w for v, i, w, _ in _waves(assign_waves(costly, 4))}
    plain = assign_waves(plan, 4)
    want = {(r.video_id, r.segment_index): r.wave for r in plain.collect()}
    assert by_count == want
    assert sorted(want.values()) == [0] * 4 + [1] * 4 + [2] * 4 + [3]


def test_a_segment_longer_than_a_wave_closes_its_wave(spark) -> None:
    plan, sizes = _plan(spark, {"a": (2, 32, 48), "b": (3, 3840, 2160), "c": (2, 32, 48)})
    # A 4K segment: 9 frames x 8.3 MP x 1 s = 75 s, over two waves of 30 s; it counts as one, so no wave
    # number is left empty.
    sizing = WaveSizing(64, 30.0, 1.0, "test", SCALE1)
    rows = _waves(assign_waves(with_cost(plan, sizes, sizing), 64, 30.0))
    _check_ranges(rows)
    assert [w for _, _, w, _ in rows] == [0, 0, 0, 1, 2, 3, 3]
    planned, counts, expected = wave_table(assign_waves(with_cost(plan, sizes, sizing), 64, 30.0))
    assert planned == 7 and counts == [3, 1, 1, 2] and all(n >= 1 for n in counts)
    assert expected[1] == pytest.approx(segment_seconds(9, 3840 * 2160, 1.0))


def test_the_rate_is_measured_from_results_of_the_same_config(spark, tmp_path) -> None:
    from jobs.schemas import SEGMENT_RESULTS
    from jobs.tables import conform

    tables = table_refs(tiny_config(str(tmp_path)).tables)
    ensure_tables(spark, tables)
    assert measured_rate(tables.segments.read(spark), "c1", "seedvr2-3b") == (None, "")
    # (config, preset, restore_s, frames_out, out h, out w, status, reused)
    rows = [("c1", "seedvr2-3b", 2.0, 10, 1000, 1000, "ok", False),
            ("c1", "seedvr2-3b", 4.0, 10, 1000, 1000, "ok", False),
            ("c1", "seedvr2-3b", 3.0, 10, 1000, 1000, "ok", None),
            ("c1", "seedvr2-3b", 90.0, 10, 1000, 1000, "failed", False),
            ("c1", "seedvr2-3b", 90.0, 10, 1000, 1000, "ok", True),
            ("c2", "seedvr2-3b", 50.0, 10, 1000, 1000, "ok", False),
            ("c9", "seedvr-7b", 70.0, 10, 1000, 1000, "ok", False)]
    df = spark.createDataFrame(
        [(f"v{i}", i, *r) for i, r in enumerate(rows)],
        "video_id string, segment_index int, config_hash string, preset string, restore_s double, "
        "frames_out int, out_height int, out_width int, status string, reused boolean")
    tables.segments.append(conform(df, SEGMENT_RESULTS))
    segs = tables.segments.read(spark)
    rate, source = measured_rate(segs, "c1", "seedvr2-3b")
    assert rate == pytest.approx(rate_of(3.0, 10, 1e6)) and "median of 3 restored segments of this config" == source
    rate, source = measured_rate(segs, "c3", "seedvr2-3b")  # no result of this config: the preset's
    assert rate == pytest.approx(rate_of(3.0, 10, 1e6)) and "preset seedvr2-3b" in source
    assert measured_rate(segs, "c3", "seedvr2-7b") == (None, "")


def test_preset_estimates() -> None:
    """Estimates only (no measurement): identity costs nothing, 50 guided steps cost many times one step."""
    one, fifty = PRESETS["seedvr2-3b"].restore_s_per_mpix_frame(), PRESETS["seedvr-3b"].restore_s_per_mpix_frame()
    assert PRESETS["identity"].restore_s_per_mpix_frame() == 0.0
    assert 0.05 < one < 2.0 and fifty > 10 * one
    assert PRESETS["seedvr2-7b"].restore_s_per_mpix_frame() > one


def _fake_run_plan(folder: str, age_s: float) -> None:
    """A plan table as a killed run leaves it: a Delta log and a data file, last written `age_s` ago."""
    os.makedirs(f"{folder}/_delta_log")
    for name in ("_delta_log/00000000000000000000.json", "part-00000.parquet"):
        with open(f"{folder}/{name}", "w", encoding="utf-8") as f:
            f.write("{}")
        os.utime(f"{folder}/{name}", (time.time() - age_s, time.time() - age_s))


def test_plan_tables_of_runs_not_running_are_removed(spark, tmp_path) -> None:
    import datetime as dt

    from jobs.schemas import SEGMENT_RESULTS
    from jobs.tables import conform

    tables = table_refs(tiny_config(str(tmp_path)).tables)
    ensure_tables(spark, tables)
    path = lambda run: str(run_plan_ref(tables, run).path)  # noqa: E731
    day = 24 * 3600.0
    _fake_run_plan(path("killed"), 2 * day)
    _fake_run_plan(path("recent"), 0.5 * day)
    _fake_run_plan(path("current"), 3 * day)
    _fake_run_plan(path("longrun"), 2 * day)  # planned two days ago, still staging waves
    staged = spark.createDataFrame([("v", 0, "longrun", dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))],
                                   "video_id string, segment_index int, run_id string, staged_at timestamp")
    tables.segment_staging.append(conform(staged, SEGMENT_RESULTS))
    lines: list[str] = []
    removed = remove_stale_run_plans(spark, tables, keep="current", log=lines.append)
    assert removed == [path("killed")] and not os.path.exists(path("killed"))
    assert all(os.path.isdir(path(r)) for r in ("recent", "current", "longrun"))
    assert len(lines) == 1 and "removed the plan table of 1 run" in lines[0] and path("killed") in lines[0]
    assert remove_stale_run_plans(spark, tables, keep="current", log=lines.append) == [] and len(lines) == 1


def test_seedvr_restore_cuts_waves_by_time_and_removes_a_killed_runs_plan(spark, make_video, tmp_path) -> None:
    """Through the console script: a measured rate of 1 s per window frame and a 12 s target give the waves
    the rule predicts (a wave holds the segments that start within its 12 s), not the one wave the count
    of 64 would; the plan table a killed run left two days ago is removed, one line says so."""
    import subprocess
    import sys

    from jobs.schemas import SEGMENT_RESULTS
    from jobs.tables import conform
    from tests.jobs.helpers import make_catalog, write_profile

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    make_catalog(make_video, str(tmp_path / "src"), n=3, frames=9)
    cfg = tiny_config(str(tmp_path), execution={"wave_minutes": 0.2})
    profile = write_profile(cfg, str(tmp_path / "p.yaml"))
    env = {**os.environ, "PYTHONPATH": repo}
    run = lambda *a: subprocess.run([sys.executable, "-m", *a, "--profile", profile, "--no-mlflow"],  # noqa: E731
                                    cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert run("jobs.catalog.command", "--source", str(tmp_path / "src")).returncode == 0
    tables = table_refs(cfg.tables)
    # An earlier identity restore of another config: 1 s for one 48x32 frame, so 1 s per window frame here.
    seed = spark.createDataFrame([("old", 0, "other", "identity", "ok", 1.0, 1, 32, 48, False)],
                                 "video_id string, segment_index int, config_hash string, preset string, "
                                 "status string, restore_s double, frames_out int, out_height int, "
                                 "out_width int, reused boolean")
    tables.segments.append(conform(seed, SEGMENT_RESULTS))
    killed = str(run_plan_ref(tables, "0123456789abcdef").path)
    _fake_run_plan(killed, 2 * 24 * 3600.0)

    dry = run("jobs.restore.command", "--dry-run")
    assert dry.returncode == 0 and os.path.exists(killed), dry.stderr[-2000:]  # a dry run removes nothing
    res = run("jobs.restore.command")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "3 restored" in res.stdout
    assert not os.path.exists(killed) and f"removed the plan table of 1 run not running for 24 h: {killed}" in res.stdout
    windows = sorted((r.video_id, r.segment_index, r.last_output - r.window_start + 1)
                     for r in tables.segment_plan.read(spark).collect())
    starts, t = [], 0.0
    for _, _, frames in windows:
        starts.append(t)
        t += segment_seconds(frames, 32 * 48, 1e6 / (32 * 48))
    assert t == pytest.approx(sum(f for _, _, f in windows))
    want = len({int(s // 12.0) for s in starts})
    assert 1 < want < len(windows)
    assert f"waves: {want} of up to " in res.stdout
    assert f"in {want} waves" in dry.stdout and "waves:    about 0.2 min of restore work each (651 s per output" \
        in dry.stdout
    assert "wave sizing: 12 s of restore work, at most 64 segments; 651 s per output megapixel-frame " \
           "(median of 1 restored segment of preset identity)" in res.stdout
    assert tables.segment_staging.read(spark).select("staged_at").distinct().count() == want
