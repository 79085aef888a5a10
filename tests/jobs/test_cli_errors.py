"""Errors a user meets at the console are one line naming the thing and the fix; exit codes as documented."""

from __future__ import annotations

import os
import subprocess
import sys

import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(*args: str, cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": REPO})


def test_profile_that_is_not_yaml(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("tables:\n  root: [unclosed\nmodel: {preset: tiny-v2\n")
    for script in ("jobs.restore.command", "jobs.catalog.command"):
        extra = ("--source", str(tmp_path)) if script == "jobs.catalog.command" else ()
        proc = _run(script, "--profile", str(bad), *extra, cwd=str(tmp_path))
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr
        assert f"profile {bad} is not valid YAML at line" in lines[0] and "fix the file" in lines[0]


class _Evil:
    def __reduce__(self):  # what a hostile checkpoint would run if it were unpickled
        return (os.system, ("touch pwned",))


def test_pickled_checkpoint_is_refused_without_torch_advice(tmp_path, make_video) -> None:
    small_video = make_video("pickled-in", frames=5)
    weights = tmp_path / "weights"
    weights.mkdir()
    for name in ("dit.pth", "vae.pth", "pos_emb.pt", "neg_emb.pt"):
        torch.save({"model": _Evil()}, weights / name)
    out = tmp_path / "out.mp4"
    proc = _run("seedvr.cli.restore_clip", small_video, str(out), "--preset", "tiny-v2", "--weights", str(weights),
                cwd=str(tmp_path))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "pickled Python objects" in proc.stderr and "weights_only=False" not in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "pwned").exists() and not out.exists()


def test_object_store_that_is_down_is_one_line(tmp_path) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": REPO, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_MAX_ATTEMPTS": "1",
           "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    proc = subprocess.run([sys.executable, "-m", "jobs.catalog.command", "--source", "s3://archive/incoming/",
                           "--tables-root", str(tmp_path / "tables"), "--work-dir", str(tmp_path), "--no-mlflow"],
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the object store" in lines[0] and "s3://archive/incoming/" in lines[0]


def _local_flags(tmp_path) -> tuple[str, ...]:
    return ("--tables-root", str(tmp_path / "tables"), "--work-dir", str(tmp_path / "work"), "--no-mlflow")


def test_ingest_of_an_empty_folder_says_so(tmp_path) -> None:
    empty = tmp_path / "incoming"
    empty.mkdir()
    proc = _run("jobs.catalog.command", "--source", str(empty), *_local_flags(tmp_path), cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stdout
    assert f"no video files found under {empty} (looked for .ts .m2ts" in lines[0]
    assert ".mp4 .m4v .mkv" in lines[0] and "nothing registered" in lines[0]
    assert "ingest.extensions" in lines[0] and "--set 'ingest.extensions=[.mp4,.abc]'" in lines[0]


def test_restore_before_any_ingest_says_what_to_run(tmp_path) -> None:
    proc = _run("jobs.restore.command", *_local_flags(tmp_path), "--output-root", str(tmp_path / "out"),
                "--preset", "identity", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert lines == [f"catalog {tmp_path}/tables/videos is empty (nothing ingested there yet): run seedvr-ingest "
                     "--source <folder or s3://bucket/prefix> --profile local first, with the same table flags; "
                     "nothing to do"], proc.stdout
    assert "Traceback" not in proc.stderr


def test_predicate_typo_names_the_column_and_the_closest_one(tmp_path) -> None:
    proc = _run("jobs.restore.command", *_local_flags(tmp_path), "--output-root", str(tmp_path / "out"),
                "--preset", "identity", "--predicate", "vidoe_id = 'x'", cwd=str(tmp_path))
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr and "ObjectName" not in proc.stderr
    assert lines[0].startswith("error: --predicate \"vidoe_id = 'x'\": unknown column 'vidoe_id' "
                               "(did you mean video_id?); columns available: added_at, added_date,")
    assert "content_class" in lines[0] and lines[0].endswith("video_id, width")


def test_databricks_profile_run_here_says_where_it_runs(tmp_path) -> None:
    for script, extra in (("jobs.restore.command", ()), ("jobs.catalog.command", ("--source", str(tmp_path)))):
        proc = _run(script, "--profile", "databricks_dev", "--no-mlflow", *extra, cwd=str(tmp_path))
        assert proc.returncode == 2, proc.stderr[-2000:]
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr and "CONNECT_URL_NOT_SET" not in proc.stderr
        assert lines[0].startswith("error: profile 'databricks_dev' uses engine.kind=active, the SparkSession of "
                                   "a Databricks cluster, and none is running here")
        assert "--engine connect --connect-url sc://" in lines[0] and "--profile local runs here" in lines[0]


def test_object_store_protocol_without_its_package_names_the_extra(tmp_path) -> None:
    import importlib.util

    cases = [("foo://bucket/videos/", "unknown storage protocol foo://; supported:")]
    if importlib.util.find_spec("adlfs") is None:
        cases.append(("abfss://media@account.dfs.core.windows.net/incoming/",
                      "abfss:// needs the adlfs package: pip install 'seedvr-lakehouse[azure]'"))
    if importlib.util.find_spec("gcsfs") is None:
        cases.append(("gs://media/incoming/", "gs:// needs the gcsfs package: pip install 'seedvr-lakehouse[gcs]'"))
    for url, expected in cases:
        proc = _run("jobs.catalog.command", "--source", url, *_local_flags(tmp_path), cwd=str(tmp_path))
        assert proc.returncode == 2, proc.stderr[-2000:]
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {url}: {expected}"), proc.stderr


def test_s3_without_credentials_is_one_line_with_the_fix(tmp_path, moto_s3, s3_bucket) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") or k in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION")}
    env.update(PYTHONPATH=REPO, AWS_ENDPOINT_URL=moto_s3, AWS_MAX_ATTEMPTS="1", AWS_EC2_METADATA_DISABLED="true",
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_CONFIG_FILE=str(tmp_path / "none"))
    for args in (("jobs.catalog.command", "--source", f"s3://{s3_bucket}/incoming/", *_local_flags(tmp_path)),
                 ("jobs.restore.command", *_local_flags(tmp_path), "--output-root", f"s3://{s3_bucket}/out",
                  "--preset", "identity")):
        proc = subprocess.run([sys.executable, "-m", *args], cwd=str(tmp_path), capture_output=True, text=True,
                              timeout=300, env=env)
        assert proc.returncode == 2, proc.stderr[-2000:]
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
        assert lines[0].startswith(f"error: s3://{s3_bucket}/")
        assert f"no credentials to access bucket {s3_bucket!r}" in lines[0]
        assert "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in lines[0] and "AWS_PROFILE" in lines[0]
