"""Segment length and VAE tiling chosen from the memory model, and the surfaces that print them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from seedvr.checkpoints.presets import PRESETS, get_preset
from seedvr.memory.plan import parse_memory, plan_segment, segment_memory, weight_bytes
from seedvr.models.vae import VAETiling
from seedvr.restorer.oom import planned_tiling

P3B = PRESETS["seedvr2-3b"]


def test_weight_bytes_count_the_released_parameters() -> None:
    """Built on the meta device: float32 bytes are 4 per released parameter (plus the RoPE buffers)."""
    params = 3_391_476_448 + 250_648_227
    assert params * 4 <= weight_bytes(P3B.dit, P3B.vae, 4) < params * 4 * 1.001
    assert weight_bytes(P3B.dit, P3B.vae, 2) < 0.51 * weight_bytes(P3B.dit, P3B.vae, 4)


@pytest.mark.parametrize("text,expected", [("24GiB", 24 * 2**30), ("80 GB", 80 * 10**9), ("900MiB", 900 * 2**20),
                                           ("16", 16 * 2**30), ("1.5g", int(1.5 * 2**30))])
def test_parse_memory(text: str, expected: int) -> None:
    assert parse_memory(text) == expected


@pytest.mark.parametrize("bad", ["", "lots", "-3GiB", "0"])
def test_parse_memory_refuses_nonsense(bad: str) -> None:
    with pytest.raises(ValueError, match="24GiB"):
        parse_memory(bad)


def test_a_roomy_gpu_keeps_the_requested_segment_untiled() -> None:
    plan = plan_segment(P3B.dit, P3B.vae, 720, 1280, 141 * 2**30, max_frames=45)
    assert plan.fits and plan.segment_frames == 45 and plan.tiling is None


def test_a_smaller_gpu_gets_tiles_then_shorter_segments() -> None:
    """720p fits a 24 GB GPU with tiles; 4K needs shorter segments there; every chosen plan fits."""
    hd = plan_segment(P3B.dit, P3B.vae, 720, 1280, 24 * 10**9, max_frames=45)
    uhd = plan_segment(P3B.dit, P3B.vae, 2160, 3840, 24 * 10**9, max_frames=45)
    assert hd.fits and hd.segment_frames == 45 and hd.tiling is not None
    assert uhd.fits and uhd.segment_frames < 45 and (uhd.segment_frames - 1) % 4 == 0
    for plan in (hd, uhd):
        assert plan.memory.peak <= plan.budget
    assert "predicted peak" in hd.describe() and "fits" in hd.describe()


def test_a_budget_below_the_weights_does_not_fit() -> None:
    plan = plan_segment(P3B.dit, P3B.vae, 720, 1280, 4 * 2**30, max_frames=45)
    assert not plan.fits and "does NOT fit" in plan.describe()


def test_longer_segments_and_larger_frames_need_more() -> None:
    peaks = [segment_memory(P3B.dit, P3B.vae, n, 720, 1280, tiling=VAETiling()).peak for n in (5, 21, 45)]
    assert peaks == sorted(peaks) and peaks[0] < peaks[-1]
    assert segment_memory(P3B.dit, P3B.vae, 21, 1080, 1920).peak > segment_memory(P3B.dit, P3B.vae, 21, 720, 1280).peak


def test_planned_tiling_starts_where_the_model_says_it_fits() -> None:
    vae = P3B.vae
    assert planned_tiling(vae, 45, (720, 1280), 2, 80 * 2**30) is None
    tight = planned_tiling(vae, 45, (1080, 1920), 2, 6 * 2**30)
    assert tight is not None and tight.tile_px < 1920


def test_preset_memory_figure_comes_from_the_model() -> None:
    assert get_preset("seedvr2-3b").min_gpu_memory_gb < get_preset("seedvr2-7b").min_gpu_memory_gb
    weights_gb = weight_bytes(P3B.dit, P3B.vae, 2) / 1e9
    assert weights_gb < get_preset("seedvr2-3b").min_gpu_memory_gb < 2 * weights_gb


def test_sizing_and_preflight_print_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    from jobs.databricks import bundle_check, sizing

    plan = sizing.segment_plan("seedvr2-3b", 24)
    assert plan is not None and plan.fits and plan.tiling is not None
    assert sizing.segment_plan("identity", 24) is None
    assert sizing.main(["--preset", "seedvr2-3b", "--node-type", "g5.xlarge"]) == 0
    assert "memory plan per GPU: predicted peak" in capsys.readouterr().out
    args = ["--catalog", "c", "--schema", "s", "--preset", "seedvr2-3b", "--weights", "/w", "--output-root", "/o",
            "--node-type", "g6e.xlarge", "--no-check-weights"]
    assert bundle_check.main(args) == 0
    out = capsys.readouterr().out
    assert "memory plan per GPU at 720p: predicted peak" in out and "45-frame segments" in out


@pytest.fixture(scope="module")
def small_video(tmp_path_factory: pytest.TempPathFactory) -> str:
    import numpy as np

    from seedvr.synthetic import write_mp4

    frames = np.random.default_rng(0).integers(0, 256, (21, 48, 64, 3)).astype("uint8")
    path = str(tmp_path_factory.mktemp("memory") / "in.mp4")
    write_mp4(frames, path, fps=25)
    return path


def _console_script() -> list[str]:
    script = os.path.join(os.path.dirname(sys.executable), "seedvr-clip")
    return [script] if os.path.exists(script) else [sys.executable, "-m", "seedvr.cli.restore_clip"]


def test_seedvr_clip_dry_run_prints_the_predicted_peak(small_video: str, tmp_path) -> None:
    proc = subprocess.run([*_console_script(), small_video, str(tmp_path / "out.mp4"), "--preset", "tiny-v2",
                           "--dry-run", "--gpu-memory", "24GiB", "--scale", "4"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    gpu = [line for line in proc.stdout.splitlines() if line.startswith("  gpu ")]
    assert len(gpu) == 1
    assert "predicted peak" in gpu[0] and "45-frame segments at 256x192" in gpu[0]
    assert "fits 24.0 GiB" in gpu[0] and "(--gpu-memory)" in gpu[0]
    assert not (tmp_path / "out.mp4").exists()


def test_dry_run_shortens_segments_for_a_small_budget(small_video: str, tmp_path, capsys) -> None:
    import json

    from seedvr.cli.restore_clip import main

    args = [small_video, str(tmp_path / "o.mp4"), "--preset", "tiny-v2", "--dry-run", "--json", "--scale", "8"]
    assert main([*args, "--gpu-memory", "64GiB"]) == 0
    roomy = json.loads(capsys.readouterr().out)["memory"]
    assert roomy["fits"] and roomy["segment_frames"] == 45 and roomy["vae_tiling"] is None
    budget = int(roomy["predicted_peak_bytes"] * 0.6)
    assert main([*args, "--gpu-memory", f"{budget / 2**20:.0f}MiB"]) == 0
    tight = json.loads(capsys.readouterr().out)
    mem = tight["memory"]
    assert mem["fits"] and mem["predicted_peak_bytes"] <= budget
    assert mem["segment_frames"] < 45 or mem["vae_tiling"] is not None
    assert tight["segments"]["frames"] == mem["segment_frames"]
