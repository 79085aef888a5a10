"""`seedvr-clip` as a user runs it: a subprocess on real encoded files, its stderr read line by line.

Ctrl-C while a restore runs, an output that cannot be written, `--dry-run`, the default preset without
weights, and throttled progress with an ETA when stderr is not a terminal.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
INTERRUPTED = "seedvr-clip: interrupted; stopped, no output was written"
FAST = ("--encoder-preset", "ultrafast")


def _env(tmp: str, **extra: str) -> dict[str, str]:
    # TMPDIR: the scratch folder of a run lands in the test's own folder, so a leak is visible.
    env = {k: v for k, v in os.environ.items() if k != "SEEDVR_PROGRESS_INTERVAL_S"}
    return {**env, "PYTHONPATH": REPO, "TMPDIR": tmp, **extra}


def _clip(*args: str, tmp: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seedvr.cli.restore_clip", *args], cwd=tmp, env=_env(tmp, **env),
                          capture_output=True, text=True, timeout=timeout)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def clip_41(tmp_path_factory: pytest.TempPathFactory) -> str:
    """41 frames of 48x64 H.264: one segment of 45 frames, or 10 of 5 frames."""
    import numpy as np

    from seedvr.synthetic import write_mp4

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (41, 48, 64, 3)).astype("uint8")
    path = str(tmp_path_factory.mktemp("console") / "in.mp4")
    write_mp4(frames, path, fps=25)
    return path


# ------------------------------------------------------------------------------------------- Ctrl-C


class _Running:
    """seedvr-clip in its own process group, as a shell runs it; stderr collected by a thread."""

    def __init__(self, args: Sequence[str], tmp: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "seedvr.cli.restore_clip", *args], cwd=tmp,
                                     env=_env(tmp), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not any(re.search(pattern, line) for line in self.lines):
            assert self.proc.poll() is None, f"exited {self.proc.returncode} first: {self.lines}"
            assert time.monotonic() < deadline, f"no {pattern!r} on stderr: {self.lines}"
            time.sleep(0.05)

    def ctrl_c(self) -> None:
        """What a terminal does: SIGINT to the whole foreground process group (sandbox workers too)."""
        os.killpg(self.proc.pid, signal.SIGINT)

    def finish(self, timeout: float) -> tuple[int, float]:
        t0 = time.monotonic()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError(f"still running {timeout} s after Ctrl-C: {self.lines}") from None
        self._reader.join(5)
        return rc, time.monotonic() - t0

    def live_group_members(self) -> list[int]:
        """Processes of the group that are still running (zombies of an init that does not reap, aside)."""
        live = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.proc.pid and fields[0] != "Z":
                live.append(int(pid))
        return live


def _long_restore(clip: str, out: str) -> list[str]:
    # tiny-v2 at twice the size: seconds per 9-frame segment on a CPU, six segments in all, so the
    # signal lands inside a restorer call running in the worker thread (the hard case).
    return [clip, out, "--preset", "tiny-v2", "--device", "cpu", "--scale", "2", "--segment-frames", "9",
            "--context-frames", "2", "--progress-interval", "0", *FAST]


def _assert_clean_interrupt(run: _Running, rc: int, out: str, tmp: str) -> None:
    err = "\n".join(run.lines)
    assert rc == 130, err
    assert run.lines.count(INTERRUPTED) == 1, err
    assert sum("interrupt" in line for line in run.lines) == 1, err
    assert "Traceback" not in err and "terminate called" not in err and "KeyboardInterrupt" not in err, err
    assert not os.path.exists(out)
    assert not [n for n in os.listdir(tmp) if n.startswith("seedvr-clip-")], os.listdir(tmp)


def test_ctrl_c_during_a_restore_stops_in_seconds_with_130(clip_41: str, tmp_path) -> None:
    tmp, out = str(tmp_path), str(tmp_path / "out.mp4")
    run = _Running(_long_restore(clip_41, out), tmp)
    run.wait_for(r"^seedvr-clip: restore 0/6 segments")
    time.sleep(1.0)  # inside the first restorer call
    assert run.proc.poll() is None, run.lines
    # The model load said what it loads, and how long it took.
    assert run.lines[0].startswith("seedvr-clip: loading tiny-v2 (")
    assert run.lines[0].endswith(": weights seeded random, device cpu, dtype auto"), run.lines
    assert re.match(r"^seedvr-clip: model ready in \d+\.\d s; restoring 6 segments of 64x48 to 128x96$",
                    run.lines[1]), run.lines
    run.ctrl_c()
    rc, seconds = run.finish(timeout=15)
    _assert_clean_interrupt(run, rc, out, tmp)
    # The restorer call in the worker thread cannot be stopped halfway: the command waits for it at most
    # STOP_JOIN_S (2 s) and then leaves it behind.
    assert seconds < 6, seconds
    time.sleep(0.5)
    assert run.live_group_members() == []


def test_second_ctrl_c_forces_the_exit_at_once(clip_41: str, tmp_path) -> None:
    tmp, out = str(tmp_path), str(tmp_path / "out.mp4")
    run = _Running(_long_restore(clip_41, out), tmp)
    run.wait_for(r"^seedvr-clip: restore 0/6 segments")
    time.sleep(1.0)
    run.ctrl_c()
    time.sleep(0.2)  # the first one is still waiting for the restorer call
    run.ctrl_c()
    rc, seconds = run.finish(timeout=10)
    _assert_clean_interrupt(run, rc, out, tmp)
    assert seconds < 1.5, seconds


def test_ctrl_c_while_starting_up_is_the_same_one_line(clip_41: str, tmp_path) -> None:
    """Within the first second the command is still importing torch: the guard is already in place."""
    tmp, out = str(tmp_path), str(tmp_path / "out.mp4")
    run = _Running(_long_restore(clip_41, out), tmp)
    time.sleep(0.7)
    assert not any("restore" in line for line in run.lines), run.lines
    run.ctrl_c()
    rc, seconds = run.finish(timeout=15)
    _assert_clean_interrupt(run, rc, out, tmp)
    assert "ImportError" not in "\n".join(run.lines)


# ------------------------------------------------------------------------------- checked before work


def test_output_under_a_regular_file_exits_2_before_any_work(clip_41: str, tmp_path) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file where a folder would be")
    out = str(blocker / "restored" / "out.mp4")
    t0 = time.monotonic()
    proc = _clip(clip_41, out, "--preset", "tiny-v2", *FAST, tmp=str(tmp_path))
    seconds = time.monotonic() - t0
    lines = _lines(proc.stderr)
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("seedvr-clip: error [config]: "), lines
    assert out in lines[0] and str(blocker) in lines[0] and "choose another output path" in lines[0]
    assert "corrupt" not in lines[0] and "input" not in lines[0]
    # Nothing probed, loaded, decoded or restored: no progress line, no scratch folder, and quick.
    assert not any(w in proc.stderr for w in ("loading", "restore ", "stitch ")) and proc.stdout == ""
    assert not [n for n in os.listdir(tmp_path) if n.startswith("seedvr-clip-")]
    assert seconds < 30, seconds


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder anyway")
def test_read_only_output_folder_exits_2_naming_the_fix(clip_41: str, tmp_path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        out = str(folder / "out.mp4")
        proc = _clip(clip_41, out, "--preset", "identity", *FAST, tmp=str(tmp_path))
    finally:
        folder.chmod(0o700)
    lines = _lines(proc.stderr)
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert out in lines[0] and "permission denied" in lines[0] and "grant write access" in lines[0]
    assert "corrupt" not in lines[0] and "loading" not in proc.stderr


def test_default_preset_without_weights_names_the_flag_and_the_smoke_test(clip_41: str, tmp_path) -> None:
    out = tmp_path / "out.mp4"
    proc = _clip(clip_41, str(out), tmp=str(tmp_path))
    lines = _lines(proc.stderr)
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "preset seedvr2-3b needs --weights" in lines[0] and "--preset tiny-v2" in lines[0]
    assert "Traceback" not in proc.stderr and not out.exists()


# ---------------------------------------------------------------------------------------- --dry-run


def test_dry_run_prints_the_plan_and_writes_nothing(clip_41: str, tmp_path) -> None:
    out = tmp_path / "new" / "out.mp4"
    proc = _clip(clip_41, str(out), "--preset", "tiny-v2", "--dry-run", tmp=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert text.startswith("dry run: nothing is loaded or written\n")
    assert f"input     {clip_41}: h264 64x48" in text and "41 frames" in text
    assert f"output    {out}: 960x720 (720p: short side 720 px)" in text
    assert "preset tiny-v2, weights seeded random" in text and "seed 666" in text
    assert "segments  1 of up to 45 frames with 8 context frames" in text
    assert "memory    decoded input window" in text and "GB of GPU memory" in text
    assert proc.stderr == ""  # no model load, no progress
    assert not (tmp_path / "new").exists()  # not even the output folder


def test_dry_run_json_is_the_plan_as_data(clip_41: str, tmp_path) -> None:
    out = tmp_path / "out.mkv"
    proc = _clip(clip_41, str(out), "--preset", "identity", "--scale", "2", "--segment-frames", "9",
                 "--context-frames", "2", "--dry-run", "--json", tmp=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["dry_run"] is True and plan["ok"] is True and plan["problems"] == []
    assert plan["source"]["num_frames"] == 41 and plan["output_size"] == [128, 96]
    assert plan["segments"] == {"count": 6, "frames": 9, "context_frames": 2, "last_frames": 6}
    assert plan["memory"]["decoded_window_bytes"] == 9 * 48 * 64 * 3 and plan["memory"]["model_gpu_gb"] is None
    assert not out.exists() and proc.stderr == ""


def test_dry_run_without_weights_shows_the_plan_and_the_problem(clip_41: str, tmp_path) -> None:
    """The plan is what the user asked for; the missing weights are what the real run would stop at,
    so the dry run shows both and exits as that run would (2)."""
    proc = _clip(clip_41, str(tmp_path / "out.mp4"), "--dry-run", tmp=str(tmp_path))
    assert proc.returncode == 2
    assert "preset seedvr2-3b, weights missing" in proc.stdout and "13 GB of GPU memory" in proc.stdout
    assert "  problem   preset seedvr2-3b needs --weights" in proc.stdout
    lines = _lines(proc.stderr)
    assert len(lines) == 1 and "needs --weights" in lines[0] and "--preset tiny-v2" in lines[0]
    proc = _clip(clip_41, str(tmp_path / "out.mp4"), "--dry-run", "--json", "--weights",
                 str(tmp_path / "absent"), tmp=str(tmp_path))
    plan = json.loads(proc.stdout)
    assert proc.returncode == 2 and plan["ok"] is False and plan["model"]["weights"] == str(tmp_path / "absent")
    assert len(plan["problems"]) == 1 and "not found" in plan["problems"][0]


def test_dry_run_loads_no_model(clip_41: str, tmp_path, monkeypatch, capsys) -> None:
    import seedvr.restorer
    from seedvr.cli.restore_clip import main

    def refuse(*a: object, **k: object) -> None:
        raise AssertionError("a dry run loaded the model")

    monkeypatch.setattr(seedvr.restorer, "load_restorer", refuse)
    assert main([clip_41, str(tmp_path / "o.mp4"), "--preset", "tiny-v2", "--dry-run"]) == 0
    assert "dry run" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------- progress

_PROGRESS = re.compile(r"^seedvr-clip: (restore|stitch) (\d+)/(\d+) (segments|frames) \(\d+%\), "
                       r"\d+:\d\d:\d\d elapsed(, ETA \d+:\d\d:\d\d)?$")


def _progress(stderr: str) -> dict[str, list[tuple[int, int, bool]]]:
    stages: dict[str, list[tuple[int, int, bool]]] = {}
    for line in _lines(stderr):
        m = _PROGRESS.match(line)
        if m:
            stages.setdefault(m.group(1), []).append((int(m.group(2)), int(m.group(3)), m.group(5) is not None))
    return stages


def test_progress_in_a_log_is_throttled_first_and_last(clip_41: str, tmp_path) -> None:
    args = (clip_41, str(tmp_path / "out.mp4"), "--preset", "identity", "--scale", "1", "--segment-frames", "5",
            "--context-frames", "1", *FAST)
    # An hour between lines (set as for seedvr-restore): each stage prints only its first and last count.
    proc = _clip(*args, tmp=str(tmp_path), SEEDVR_PROGRESS_INTERVAL_S="3600")
    assert proc.returncode == 0, proc.stderr
    stages = _progress(proc.stderr)
    assert [d for d, _, _ in stages["restore"]] == [0, 10] and stages["restore"][-1][1] == 10
    assert len(stages["stitch"]) == 2 and stages["stitch"][-1][:2] == (41, 41)
    lines = _lines(proc.stderr)
    # loading, model ready, signing with a test certificate, 4 progress lines, wrote
    assert len(lines) == len(set(lines)) == 2 + 1 + 4 + 1
    assert lines[-1].startswith(f"wrote {tmp_path / 'out.mp4'}: 41 frames, 64x48, 10 segments")

    proc = _clip(*args, "--progress-interval", "0", tmp=str(tmp_path), SEEDVR_PROGRESS_INTERVAL_S="3600")
    assert proc.returncode == 0, proc.stderr
    stages = _progress(proc.stderr)
    # No throttle: every count once, in order, never a line twice.
    assert [d for d, _, _ in stages["restore"]] == list(range(11))
    assert [d for d, _, _ in stages["stitch"]] == [8, 16, 24, 32, 40, 41]
    lines = _lines(proc.stderr)
    assert len(lines) == len(set(lines))
    # The counts in between carry an ETA; the first (nothing done) and the last have nothing to estimate.
    for name, counts in stages.items():
        assert all(eta == (0 < done < total) for done, total, eta in counts), (name, counts)


def test_thread_budget_is_applied_and_reported(tmp_path) -> None:
    from seedvr.threads import available_cores

    src = str(tmp_path / "in.mp4")
    from seedvr.synthetic import make_clip, write_mp4

    write_mp4(make_clip("procedural:1", 9, (32, 48), seed=1), src)
    out = str(tmp_path / "out.mp4")
    proc = _clip(src, out, "--preset", "identity", "--json", "--threads", "auto", tmp=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    threads = json.loads(proc.stdout)["threads"]
    cores = available_cores()
    assert threads["tasks"] == 1 and threads["torch"] == threads["encode"] == cores
    bad = _clip(src, out, "--preset", "identity", "--threads", "many", tmp=str(tmp_path))
    assert bad.returncode == 2 and "--threads 'many' must be auto, all or a number of threads" in bad.stderr
