"""Archive footage in the job, through the console scripts: seedvr-ingest records what each file holds
on its catalog row (once per file version, and once for rows ingested before analysis existed);
seedvr-restore restores the progressive, square-pixel active picture (mezzanines on executors), bounds
segments at shot cuts, puts the bars back, and records what it found and did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction

import av
import numpy as np

from jobs.tables import table_refs
from seedvr.synthetic import archive
from tests.jobs.helpers import tiny_config, write_profile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(module: str, profile: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, "--profile", profile, "--no-mlflow", *args], cwd=REPO,
                          env={**os.environ, "PYTHONPATH": REPO}, capture_output=True, text=True, timeout=600)


def test_ingest_analyses_and_restore_keeps_segments_inside_shots(spark, tmp_path) -> None:
    src = tmp_path / "src"
    clips = {"interlaced": archive.interlaced("tff", flagged=False, frames=30, seed=2),
             "letterbox": archive.boxed("letterbox", bar=40, frames=20, seed=4),
             "shots": archive.multi_shot((20, 16, 22), seed=6),
             "dark": archive.dark_scene(frames=20, seed=3),
             "dv": archive.anamorphic(Fraction(32, 27), frames=12, seed=7)}
    inter_box = archive.boxed("letterbox", bar=40, frames=24, seed=8)
    clips["interbox"] = archive.ArchiveClip("interbox", archive.weave(inter_box.frames, "tff"), inter_box.fps,
                                            field_order="tff")
    for name, clip in clips.items():
        archive.write_clip(archive.ArchiveClip(name, clip.frames, clip.fps, clip.truth, clip.field_order,
                                               clip.sar), src)
    cfg = tiny_config(str(tmp_path), execution={"gpu_slots": 2})
    profile = write_profile(cfg, str(tmp_path / "profile.yaml"))

    # A catalog ingested before analysis existed: the next ingest analyses its unchanged rows, once.
    first = _run("jobs.catalog.command", profile, "--source", str(src), "--set", "ingest.analyse=false")
    assert first.returncode == 0, first.stderr[-2000:]
    second = _run("jobs.catalog.command", profile, "--source", str(src))
    assert second.returncode == 0 and "unchanged 6" in second.stdout and "analysed again 6" in second.stdout
    third = _run("jobs.catalog.command", profile, "--source", str(src))
    assert "unchanged 6" in third.stdout and "analysed again" not in third.stdout

    tables = table_refs(cfg.tables)
    rows = {r.video_id.rsplit("-", 1)[0]: r for r in tables.videos.read(spark).collect()}
    assert (rows["interlaced"].scan_type, rows["shots"].num_shots, rows["dark"].num_shots) == ("interlaced", 3, 1)
    assert {rows[k].scan_type for k in ("letterbox", "shots", "dark")} == {"progressive"}
    boxed = json.loads(rows["letterbox"].analysis_json)
    assert (boxed["active"]["top"], boxed["active"]["bottom"]) == (40, 40)
    assert json.loads(rows["shots"].analysis_json)["cuts"] == [20, 36]
    assert json.loads(rows["dark"].analysis_json)["active"]["top"] == 0  # a night scene is not a bar

    dry = _run("jobs.restore.command", profile, "--dry-run")
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert ("  archive:  2 to crop bars, 2 to deinterlace, 1 to square pixels (a lossless mezzanine each, "
            "first; frame counts above are the stored ones)") in dry.stdout
    res = _run("jobs.restore.command", profile)
    assert res.returncode == 0 and "6 restored, 0 failed" in res.stdout, res.stderr[-2000:]
    shots_id = rows["shots"].video_id
    segs = [r for r in tables.segments.read(spark).collect() if r.video_id == shots_id]
    for s in segs:  # no window holds frames of two shots
        assert not any(s.window_start < c <= s.last_output for c in (20, 36)), s
    assert {s.window_start for s in segs if s.first_output in (20, 36)} == {20, 36}
    restored = {r.video_id: r for r in tables.restorations.read(spark).collect()}
    shot_row = restored[shots_id]
    assert json.loads(shot_row.archive_applied) == ["segments bounded at 2 shot cuts"]
    assert json.loads(shot_row.analysis_json)["cuts"] == [20, 36]
    assert json.loads(restored[rows["dark"].video_id].archive_applied) == []

    # Interlaced and letterboxed: deinterlaced at double rate, the picture restored, exact bars put back.
    ib = restored[rows["interbox"].video_id]
    assert json.loads(ib.archive_applied)[:2] == ["deinterlace (bwdif, tff, double rate)",
                                                  "active picture 320x160+0+40 (bars put back)"]
    assert (ib.num_frames, ib.out_width, ib.out_height) == (24, 320, 240)  # 12 interlaced frames, 24 fields
    with av.open(ib.output_uri) as c:
        frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
        assert abs(float(c.streams.video[0].average_rate) - 50) < 0.1
    assert frames[:, :38].max() <= 8 and frames[:, -38:].max() <= 8 and frames[:, 44:-44].mean() > 40
    # Non-square pixels: restored and delivered square (320x240 at SAR 32:27 is 380x240).
    dv = restored[rows["dv"].video_id]
    assert (dv.out_width, dv.out_height) == (380, 240) and "square pixels" in dv.archive_applied
    assert (restored[rows["interlaced"].video_id].num_frames, ) == (60,)
    # The signed manifest lists each preparation as its own action, before the restoration.
    from seedvr.provenance.verify import stated_content

    def actions(row) -> list[tuple[str, str]]:
        acts = next(a for a in stated_content(row.output_uri)["assertions"] if a["label"] == "c2pa.actions.v2")
        return [(x["action"], x.get("parameters", {}).get("name", "")) for x in acts["data"]["actions"]]

    assert actions(ib)[:3] == [("c2pa.opened", ""), ("c2pa.filtered", "deinterlace"), ("c2pa.cropped", "crop_bars")]
    assert ("c2pa.resized", "square_pixels") in actions(dv) and actions(dv)[-1][0] in ("c2pa.edited", "c2pa.transcoded")
    # Mezzanines are scratch too: freed with the segment files once the outputs are committed.
    assert not [f for f in (tmp_path / "outputs").rglob("*.mkv")]
    again = _run("jobs.restore.command", profile)
    assert again.returncode == 0 and "matched no pending videos" in again.stdout
