"""The executor-side stages called directly on pandas batches: declared columns, per-row errors."""

from __future__ import annotations

import json

import pandas as pd

from seedvr.video.probe import probe
from udfs.model_cache import ModelSpec
from udfs.plan import PlanSegments
from udfs.probe import ProbeVideos
from udfs.restore_segments import RestoreSegments, RestoreSettings
from udfs.schemas import PLAN_OUT, PROBE_OUT, SEGMENT_UDF_OUT


def test_probe_stage_turns_bad_files_into_rows(make_video, tmp_path) -> None:
    good = make_video("g", frames=6, folder=str(tmp_path))
    (tmp_path / "bad.mp4").write_bytes(b"nope")
    batch = pd.DataFrame({"video_id": ["g", "b", "m"], "uri": [good, str(tmp_path / "bad.mp4"),
                                                                str(tmp_path / "missing.mp4")]})
    out = next(ProbeVideos(timeout_s=30)(iter([batch])))
    assert list(out.columns) == PROBE_OUT.fieldNames()
    rows = out.set_index("video_id")
    assert rows.loc["g", "probe_status"] == "ok" and rows.loc["g", "num_frames"] == 6
    assert json.loads(rows.loc["g", "info_json"])["width"] == 48
    assert rows.loc["b", "probe_status"] == "failed" and rows.loc["b", "error_class"] != "internal"
    assert rows.loc["m", "error_class"] == "missing"


def test_plan_stage_covers_every_frame_once() -> None:
    batch = pd.DataFrame({"video_id": ["a", "z"], "uri": ["u", "v"], "file_version": ["f", "g"],
                          "num_frames": [12, 0]})
    out = PlanSegments(5, 1, "h").process(batch)
    assert list(out.columns) == PLAN_OUT.fieldNames()
    a = out[out["video_id"] == "a"]
    owned = [f for r in a.itertuples() for f in range(r.first_output, r.last_output + 1)]
    assert owned == list(range(12)) and set(a["num_segments"]) == {len(a)}
    z = out[out["video_id"] == "z"]
    assert len(z) == 1 and z["segment_index"].iloc[0] == -1 and z["error_class"].iloc[0] == "config"


def test_restore_stage_failure_is_a_row(make_video, tmp_path) -> None:
    url = make_video("r", frames=5, folder=str(tmp_path))
    info = json.dumps(probe(url).to_dict())
    batch = pd.DataFrame({"video_id": ["ok", "gone"], "uri": [url, str(tmp_path / "gone.mp4")],
                          "file_version": ["f", "f"], "info_json": [info, info], "source_root": [str(tmp_path)] * 2, "segment_index": [0, 0],
                          "window_start": [0, 0], "first_output": [0, 0], "last_output": [4, 4]})
    stage = RestoreSegments(RestoreSettings(model=ModelSpec.make("identity"), config_hash="h",
                                            output_root=str(tmp_path / "out")))
    out = next(stage(iter([batch])))
    assert list(out.columns) == SEGMENT_UDF_OUT.fieldNames()
    rows = out.set_index("video_id")
    assert rows.loc["ok", "status"] == "ok" and rows.loc["ok", "frames_out"] == 5
    assert rows.loc["ok", "intermediate_uri"].startswith(str(tmp_path / "out" / "segments"))
    assert rows.loc["gone", "status"] == "failed" and rows.loc["gone", "error_class"] == "missing"
