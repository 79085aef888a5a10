"""fsspec storage helpers: one code path for local files, s3:// and dbfs:/Volumes.

Why atomic writes: a retried or crashed task must never leave a half-written object at a final key,
because the next run treats an existing key as done. Local files are written next to the target and
renamed; object stores receive one upload of the finished file, which is visible all at once.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from typing import IO, Any

import fsspec
from fsspec.core import url_to_fs

from seedvr.errors import (
    ConfigError,
    MissingObjectError,
    PermissionDeniedError,
    SeedVRError,
    VideoError,
)

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_CHUNK = 1 << 20


def sanitize_key_component(value: object, *, max_len: int = 96) -> str:
    """Make one path component safe for every store: `[A-Za-z0-9._-]`, no `..`, bounded length.

    When the value had to change (or is too long) a short digest of the original is appended, so two
    distinct catalog ids never map to the same key (`a/b` and `a_b` differ).
    """
    text = str(value)
    if not text:
        raise ConfigError("a key component must not be empty; pass the catalog id or config hash as text")
    cleaned = _SAFE.sub("_", text).strip("._") or "_"
    if cleaned != text or len(cleaned) > max_len:
        digest = hashlib.sha256(text.encode()).hexdigest()[:10]
        cleaned = f"{cleaned[: max_len - 11]}-{digest}"
    return cleaned


def join_url(root: str, *parts: str) -> str:
    """Join a root URL and already-sanitised components with `/`."""
    return "/".join([root.rstrip("/"), *parts])


def is_local(url: str) -> bool:
    fs, _ = url_to_fs(url)
    return "file" in _protocols(fs)


def _protocols(fs: Any) -> tuple[str, ...]:
    proto = fs.protocol
    return (proto,) if isinstance(proto, str) else tuple(proto)


def local_path(url: str) -> str | None:
    """The local filesystem path of a `file://` or plain-path URL, else None."""
    fs, path = url_to_fs(url)
    return path if "file" in _protocols(fs) else None


def map_storage_error(exc: BaseException, url: str) -> SeedVRError:
    """Translate filesystem/boto exceptions into the project's error taxonomy, naming the URL and the fix."""
    if isinstance(exc, SeedVRError):
        return exc
    if isinstance(exc, FileNotFoundError) or getattr(exc, "errno", None) == errno.ENOENT:
        return MissingObjectError(f"{url}: object not found; check the path or URL and that the upload finished")
    if isinstance(exc, PermissionError) or getattr(exc, "errno", None) in (errno.EACCES, errno.EPERM):
        return PermissionDeniedError(
            f"{url}: permission denied ({exc}); grant read access to the job's identity or fix the file mode"
        )
    return VideoError(f"{url}: storage error {type(exc).__name__}: {exc}")


def object_size(url: str) -> int:
    """Size in bytes; raises MissingObjectError / PermissionDeniedError."""
    try:
        fs, path = url_to_fs(url)
        return int(fs.size(path))
    except Exception as exc:  # noqa: BLE001 - every storage failure is mapped
        raise map_storage_error(exc, url) from exc


def exists(url: str) -> bool:
    try:
        fs, path = url_to_fs(url)
        return bool(fs.exists(path))
    except Exception as exc:  # noqa: BLE001
        raise map_storage_error(exc, url) from exc


def check_readable(url: str) -> int:
    """Open the object and read its first byte, so missing and forbidden objects fail here, clearly.

    Returns the size in bytes.
    """
    size = object_size(url)
    try:
        with fsspec.open(url, "rb") as f:
            f.read(1)
    except Exception as exc:  # noqa: BLE001
        raise map_storage_error(exc, url) from exc
    return size


@contextlib.contextmanager
def open_input(url: str) -> Iterator[str | IO[bytes]]:
    """A local path (fast, mmap-friendly for FFmpeg) or a seekable fsspec file object for remote URLs."""
    path = local_path(url)
    if path is not None:
        if not os.path.exists(path):
            raise MissingObjectError(f"{url}: object not found; check the path or URL and that the upload finished")
        if not os.access(path, os.R_OK):
            raise PermissionDeniedError(f"{url}: permission denied; grant read access or fix the file mode")
        yield path
        return
    try:
        f = fsspec.open(url, "rb").open()
    except Exception as exc:  # noqa: BLE001
        raise map_storage_error(exc, url) from exc
    try:
        yield f
    finally:
        f.close()


@contextlib.contextmanager
def local_copy(url: str) -> Iterator[str]:
    """A local file path holding the object's bytes (the object itself when already local)."""
    path = local_path(url)
    if path is not None:
        if not os.path.exists(path):
            raise MissingObjectError(f"{url}: object not found; check the path or URL")
        yield path
        return
    tmpdir = tempfile.mkdtemp(prefix="seedvr-get-")
    try:
        dst = os.path.join(tmpdir, os.path.basename(url.rstrip("/")) or "object")
        try:
            fs, rpath = url_to_fs(url)
            fs.get_file(rpath, dst)
        except Exception as exc:  # noqa: BLE001
            raise map_storage_error(exc, url) from exc
        yield dst
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def sha256_url(url: str) -> str:
    with local_copy(url) as path:
        return sha256_file(path)


@contextlib.contextmanager
def atomic_write(url: str, *, suffix: str | None = None) -> Iterator[str]:
    """Yield a local temporary path; on success it becomes `url` in one step, on failure nothing appears.

    Local targets: the temporary file sits in the target's folder (same filesystem) and is renamed
    with `os.replace`. Remote targets: the finished file is uploaded once to the final key.
    """
    suffix = suffix if suffix is not None else os.path.splitext(url)[1]
    path = local_path(url)
    if path is not None:
        folder = os.path.dirname(os.path.abspath(path))
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise map_storage_error(exc, url) from exc
        tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{uuid.uuid4().hex[:12]}{suffix}")
        try:
            yield tmp
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)
        return
    tmpdir = tempfile.mkdtemp(prefix="seedvr-put-")
    tmp = os.path.join(tmpdir, f"part{suffix}")
    try:
        yield tmp
        try:
            fs, rpath = url_to_fs(url)
            parent = rpath.rsplit("/", 1)[0]
            with contextlib.suppress(Exception):
                fs.makedirs(parent, exist_ok=True)
            fs.put_file(tmp, rpath)
        except Exception as exc:  # noqa: BLE001
            raise map_storage_error(exc, url) from exc
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def remove(url: str) -> None:
    """Delete an object if present (used to clean up after failed runs)."""
    fs, path = url_to_fs(url)
    with contextlib.suppress(FileNotFoundError):
        fs.rm(path)
