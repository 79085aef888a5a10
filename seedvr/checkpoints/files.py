"""Weight files on local disk or any fsspec URL: locate, cache locally, and fingerprint.

Remote files are copied once into a local cache (atomically, so a killed copy never looks complete)
because both loaders memory-map their input, which needs a real local file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from seedvr.errors import CheckpointError
from seedvr.video.storage import filesystem

_CHUNK = 8 * 2**20
_sha_cache: dict[tuple[str, int, int], str] = {}
_sha_lock = threading.Lock()


def is_remote(url: str | os.PathLike) -> bool:
    text = str(url)
    return "://" in text and not text.startswith("file://")


def join(base: str | os.PathLike, name: str) -> str:
    """Join a folder (local path or URL) and a file name."""
    text = str(base)
    if is_remote(text):
        return text.rstrip("/") + "/" + name
    return str(Path(text.removeprefix("file://")) / name)


def exists(url: str | os.PathLike) -> bool:
    text = str(url)
    if not is_remote(text):
        return Path(text.removeprefix("file://")).is_file()
    fs, path = filesystem(text)
    return bool(fs.isfile(path))


def find_first(base: str | os.PathLike, names: Sequence[str]) -> str:
    """The first of `names` present in the folder `base`; CheckpointError listing all tried names."""
    for name in names:
        url = join(base, name)
        if exists(url):
            return url
    raise CheckpointError(
        f"none of {list(names)} found in {base}; download the weights there or pass the file path"
    )


def default_cache_dir() -> Path:
    return Path(os.environ.get("SEEDVR_CACHE_DIR", Path.home() / ".cache" / "seedvr")) / "weights"


def local_copy(url: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> Path:
    """A local path for `url`: local files as they are, remote ones copied into the cache once.

    A cached copy is reused while its size equals the remote size.
    """
    text = str(url)
    if not is_remote(text):
        path = Path(text.removeprefix("file://"))
        if not path.is_file():
            raise CheckpointError(f"weight file {path} does not exist; check the path or download it")
        return path
    fs, remote_path = filesystem(text)
    try:
        size = int(fs.size(remote_path))
    except FileNotFoundError:
        raise CheckpointError(f"weight file {text} does not exist; check the URL") from None
    key = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
    target = Path(cache_dir or default_cache_dir()) / key / Path(remote_path).name
    if target.is_file() and target.stat().st_size == size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out, fs.open(remote_path, "rb") as src:
            while chunk := src.read(_CHUNK):
                out.write(chunk)
        if os.path.getsize(tmp) != size:
            raise CheckpointError(f"copy of {text} is incomplete ({os.path.getsize(tmp)} of {size} bytes)")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def sha256_file(path: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> str:
    """Streamed sha256 of a local file, cached by (path, size, mtime) in memory and on disk.

    Hashing a 33 GB checkpoint takes minutes; new worker processes on the same machine reuse the
    digest from the disk cache as long as the file is unchanged.
    """
    resolved = Path(path).resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_size, stat.st_mtime_ns)
    with _sha_lock:
        if key in _sha_cache:
            return _sha_cache[key]
    name = hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest()
    record = Path(cache_dir or default_cache_dir().parent / "sha256") / name
    try:
        value = record.read_text().strip()
    except OSError:
        value = ""
    if len(value) != 64:
        digest = hashlib.sha256()
        with open(resolved, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
        value = digest.hexdigest()
        _write_quietly(record, value)
    with _sha_lock:
        _sha_cache[key] = value
    return value


def _write_quietly(path: Path, text: str) -> None:
    """Best-effort atomic write: a read-only home must not break loading."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError:
        pass
