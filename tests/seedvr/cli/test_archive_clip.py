"""seedvr-clip on archive footage, through the console script: interlaced letterboxed 4:3, anamorphic,
telecined and multi-shot files come out progressive, square-pixel, with exact bars, at the display size
the target names, with what was detected and done in the summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction

import av
import numpy as np

from seedvr.synthetic import archive

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _clip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seedvr.cli.restore_clip", *args, "--preset", "identity",
                           "--encoder-preset", "ultrafast", "--segment-frames", "9", "--context-frames", "2"],
                          cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, capture_output=True, text=True,
                          timeout=300)


def _frames(path: str) -> tuple[np.ndarray, av.VideoStream, list[float]]:
    with av.open(path) as c:
        v = c.streams.video[0]
        frames, times = [], []
        for f in c.decode(v):
            frames.append(f.to_ndarray(format="rgb24"))
            times.append(float(f.time))
        return np.stack(frames), v, times


def test_interlaced_letterboxed_4x3_comes_out_progressive_with_exact_bars(tmp_path) -> None:
    boxed = archive.boxed("letterbox", bar=40, frames=60, seed=3)
    src = archive.ArchiveClip("inter-lbox", archive.weave(boxed.frames, "tff"), boxed.fps, field_order="tff")
    path, out = str(archive.write_clip(src, tmp_path)), str(tmp_path / "out.mp4")

    dry = _clip(path, out, "--resolution", "480p", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"output    {out}: 640x480 (480p: short side 480 px)" in dry.stdout
    assert "analysis  interlaced (tff), flagged tff; 0 shot cuts; bars top 40, bottom 40; SAR 1:1" in dry.stdout
    assert "prepare   deinterlace (bwdif, tff, double rate); active picture 320x160+0+40" in dry.stdout
    assert not os.path.exists(out)

    run = _clip(path, out, "--resolution", "480p", "--json")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["size"] == [640, 480] and summary["frames"] == 60  # 30 interlaced frames, 60 fields
    applied = summary["archive"]["preparation"]["applied"]
    assert applied[0] == "deinterlace (bwdif, tff, double rate)" and "bars put back" in applied[1]
    frames, stream, times = _frames(out)
    assert frames.shape == (60, 480, 640, 3)
    assert np.allclose(np.diff(times), 1 / 50, atol=1e-3)  # 50 frames per second, one per field
    assert times[-1] - times[0] == np.float64(59 / 50).round(6) or abs(times[-1] - times[0] - 59 / 50) < 1e-3
    # Bars at 2x (80 lines), black to within the encoder's rounding; the picture between them is not.
    assert frames[:, :78].max() <= 8 and frames[:, -78:].max() <= 8
    assert frames[:, 84:-84].mean() > 40
    # No combing left: adjacent lines of the picture differ no more than lines two apart.
    pic = frames[:, 90:-90].astype(np.int16)
    assert np.abs(np.diff(pic, axis=1)).mean() < 1.5 * np.abs(pic[:, 2:] - pic[:, :-2]).mean()


def test_anamorphic_and_telecined_sources(tmp_path) -> None:
    sar = archive.anamorphic(Fraction(32, 27), frames=20, seed=7)
    path, out = str(archive.write_clip(sar, tmp_path)), str(tmp_path / "sar.mp4")
    run = _clip(path, out, "--resolution", "480p", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["size"] == [760, 480]  # 380x240 square pixels, at 480 lines
    with av.open(out) as c:
        assert c.streams.video[0].sample_aspect_ratio in (None, Fraction(1, 1))

    tc = archive.telecined(frames=60, seed=5)
    path, out = str(archive.write_clip(tc, tmp_path)), str(tmp_path / "tc.mp4")
    run = _clip(path, out, "--scale", "1", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["frames"] == 48  # the film frames, at 23.976
    _, stream, times = _frames(out)
    assert abs((times[1] - times[0]) - 1001 / 24000) < 2e-3
    kept = _clip(path, str(tmp_path / "kept.mp4"), "--scale", "1", "--telecine", "keep", "--json")
    assert kept.returncode == 0 and json.loads(kept.stdout)["frames"] == 60


def test_segments_stop_at_shot_cuts_and_archive_off_restores_as_stored(tmp_path) -> None:
    shots = archive.multi_shot((30, 22, 40, 26), seed=6)
    path = str(archive.write_clip(shots, tmp_path))
    run = _clip(path, str(tmp_path / "shots.mp4"), "--scale", "1", "--json")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["archive"]["cuts"] == [30, 52, 92] and summary["archive"]["preparation"] is None
    from seedvr.video.plan import plan_segments

    bounded = plan_segments(118, 9, 2, (30, 52, 92))
    assert summary["segments"] == len(bounded) and bounded != plan_segments(118, 9, 2)
    # No segment window reaches back across a cut: each shot starts a segment without context.
    assert {s.window_start for s in bounded if s.first_output in (30, 52, 92)} == {30, 52, 92}
    off = _clip(path, str(tmp_path / "off.mp4"), "--scale", "1", "--archive", "off", "--json")
    assert off.returncode == 0 and json.loads(off.stdout)["archive"] is None
    assert json.loads(off.stdout)["segments"] == len(plan_segments(118, 9, 2))


def test_a_prepared_source_keeps_its_audio_in_sync(tmp_path) -> None:
    from seedvr.synthetic import write_mp4

    clip = archive.interlaced("tff", flagged=False, frames=40, seed=12)
    path = str(write_mp4(clip.frames, tmp_path / "with-audio.mp4", fps=25, audio=True))
    out = str(tmp_path / "out.mp4")
    run = _clip(path, out, "--scale", "1", "--json")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["frames"] == 80 and summary["audio_packets_copied"] > 0
    with av.open(out) as c:
        video, audio = c.streams.video[0], c.streams.audio[0]
        v_end = float(video.duration * video.time_base) if video.duration else float(c.duration / 1e6)
        a_end = float(audio.duration * audio.time_base) if audio.duration else v_end
        assert abs(float(video.average_rate) - 50) < 0.1 and abs(v_end - a_end) < 0.1
