"""Shared session fixtures: a moto S3 server on 127.0.0.1 and one embedded Sail `spark` session.

The S3 environment (AWS_ENDPOINT_URL, AWS_ALLOW_HTTP, test keys, region) is exported before the Sail
server starts, because Sail reads it when the server is constructed; s3fs and boto read the same
variables, so `s3://` works everywhere in the test process. The keys are moto's dummy values.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

# The suite runs on CPUs: "auto" shot detection means the weight-free scdet here (subprocesses inherit it);
# the learned detector's tests ask for it by name.
os.environ.setdefault("SEEDVR_SHOTS", "scdet")

S3_ENV_KEYS = ("AWS_ENDPOINT_URL", "AWS_ALLOW_HTTP", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
               "AWS_REGION", "AWS_DEFAULT_REGION")


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    """Endpoint URL of a moto S3 server on 127.0.0.1 (random port), with AWS_* env pointing at it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in S3_ENV_KEYS}
    os.environ.update({
        "AWS_ENDPOINT_URL": endpoint, "AWS_ALLOW_HTTP": "true", "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
    })
    try:
        yield endpoint
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


@pytest.fixture
def s3_bucket(moto_s3: str) -> str:
    """A fresh, empty bucket name on the moto server."""
    import s3fs

    name = f"test-{uuid.uuid4().hex[:12]}"
    fs = s3fs.S3FileSystem(endpoint_url=moto_s3, key="testing", secret="testing", skip_instance_cache=True)
    fs.mkdir(name)
    return name


@pytest.fixture(scope="session")
def spark(moto_s3: str) -> Iterator[object]:
    """One embedded Sail session for the whole test run, with the job's own engine settings."""
    from jobs.config import EngineConfig
    from jobs.engine import start_sail

    server, session = start_sail(EngineConfig().sail_env)
    try:
        yield session
    finally:
        try:
            session.stop()
        finally:
            server.stop()


@pytest.fixture(scope="session")
def make_video(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., str]:
    """Write a small real H.264 MP4 (moving gradient + noise, optional AAC) and return its path."""
    import numpy as np

    from seedvr.synthetic import write_mp4

    root = tmp_path_factory.mktemp("videos")

    def make(name: str = "clip", frames: int = 12, size: tuple[int, int] = (32, 48), *, seed: int = 0,
             folder: str | os.PathLike[str] | None = None, audio: bool = False, fps: int = 12) -> str:
        h, w = size
        rng = np.random.default_rng(seed)
        yy, xx = np.mgrid[0:h, 0:w]
        clip = np.empty((frames, h, w, 3), np.uint8)
        for t in range(frames):
            base = (xx * 4 + yy * 2 + t * 6 + seed * 17) % 256
            clip[t] = np.stack([base, (base + 85) % 256, (255 - base)], -1)
        clip = np.clip(clip.astype(np.int16) + rng.integers(-8, 9, clip.shape), 0, 255).astype(np.uint8)
        out = os.path.join(folder or root, f"{name}.mp4")
        write_mp4(clip, out, fps=fps, audio=audio)
        return out

    return make
