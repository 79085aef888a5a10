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
import posixpath
import re
import shutil
import stat
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from typing import IO, Any

import fsspec
from fsspec.core import url_to_fs

from seedvr.errors import (
    ConfigError,
    ForbiddenPathError,
    MissingObjectError,
    NotRegularFileError,
    PermissionDeniedError,
    SeedVRError,
    VideoError,
    first_line,
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


# Object stores whose fsspec implementation ships in an extra of this package, not in the core install.
_EXTRAS = {"abfs": ("azure", "adlfs"), "abfss": ("azure", "adlfs"), "az": ("azure", "adlfs"),
           "adl": ("azure", "adlfs"), "gs": ("gcs", "gcsfs"), "gcs": ("gcs", "gcsfs")}
_BUILT_IN = "local paths, file://, s3://, dbfs:/Volumes/..., abfss:// (extra azure), gs:// (extra gcs)"


def filesystem(url: str) -> tuple[Any, str]:
    """fsspec's `url_to_fs`, with a missing or unknown protocol as one ConfigError naming the extra."""
    try:
        return url_to_fs(url)
    except (ImportError, ValueError) as exc:
        if isinstance(exc, ValueError) and "protocol" not in str(exc).lower():
            raise
        scheme = url.split("://", 1)[0].lower() if "://" in url else url.split(":", 1)[0].lower()
        if scheme in _EXTRAS:
            extra, package = _EXTRAS[scheme]
            raise ConfigError(f"{url}: {scheme}:// needs the {package} package: pip install "
                              f"'seedvr-lakehouse[{extra}]'") from None
        raise ConfigError(f"{url}: unknown storage protocol {scheme}://; supported: {_BUILT_IN}") from None


def is_local(url: str) -> bool:
    fs, _ = filesystem(url)
    return "file" in _protocols(fs)


def _protocols(fs: Any) -> tuple[str, ...]:
    proto = fs.protocol
    return (proto,) if isinstance(proto, str) else tuple(proto)


def local_path(url: str) -> str | None:
    """The local filesystem path of a `file://` or plain-path URL, else None."""
    fs, path = filesystem(url)
    return path if "file" in _protocols(fs) else None


_OBJECT_STORES = {"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az"}


def bucket_of(url: str) -> str | None:
    """The bucket (container) of an object-store URL, else None."""
    fs, path = filesystem(url)
    return path.split("/", 1)[0] if set(_protocols(fs)) & _OBJECT_STORES else None


def check_bucket(url: str) -> None:
    """A missing bucket is a configuration error naming it; buckets are never created by the job."""
    bucket = bucket_of(url)
    if bucket is None:
        return
    fs, _ = filesystem(url)
    try:
        fs.info(bucket)
    except FileNotFoundError:
        raise ConfigError(f"{url}: bucket {bucket!r} does not exist (or is not visible to these credentials); "
                          "create it or fix the URL: the job never creates buckets") from None
    except PermissionError as exc:
        raise ConfigError(f"{url}: access to bucket {bucket!r} denied ({first_line(exc)}); grant the job's "
                          "identity access to it") from None
    except Exception as exc:  # noqa: BLE001 - endpoint down, bad credentials: one line naming the URL
        hint = credentials_hint(exc, url)
        if hint:
            raise ConfigError(f"{url}: {hint}") from None
        raise ConfigError(f"{url}: cannot reach the object store ({first_line(exc)}); check the endpoint "
                          "(AWS_ENDPOINT_URL), the network and the credentials") from None


# botocore's names, matched by name: the check must not import the AWS SDK for other stores.
_NO_CREDENTIALS = ("NoCredentialsError", "PartialCredentialsError", "ProfileNotFound")


def credentials_hint(exc: BaseException, url: str) -> str | None:
    """What to do when the object store was never asked because no credentials were found, else None."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if not names & set(_NO_CREDENTIALS):
        return None
    bucket = None
    with contextlib.suppress(Exception):
        bucket = bucket_of(url)
    where = f"bucket {bucket!r}" if bucket else "the object store"
    return (f"no credentials to access {where} ({first_line(exc)}); export AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE naming a profile of ~/.aws/config, or run where an "
            "instance profile grants access")


def map_storage_error(exc: BaseException, url: str, *, write: bool = False) -> SeedVRError:
    """Translate filesystem/boto exceptions into the project's error taxonomy, naming the URL and the fix."""
    if isinstance(exc, SeedVRError):
        return exc
    hint = credentials_hint(exc, url)
    if hint:
        return PermissionDeniedError(f"{url}: {hint}")
    if isinstance(exc, FileNotFoundError) or getattr(exc, "errno", None) == errno.ENOENT:
        if write:
            return MissingObjectError(f"{url}: the folder or bucket to write into does not exist; create it "
                                      "or fix the output URL")
        return MissingObjectError(f"{url}: object not found; check the path or URL and that the upload finished")
    if isinstance(exc, PermissionError) or getattr(exc, "errno", None) in (errno.EACCES, errno.EPERM):
        access = "write" if write else "read"
        return PermissionDeniedError(
            f"{url}: permission denied ({first_line(exc)}); grant {access} access to the job's identity or fix "
            "the file mode"
        )
    return VideoError(f"{url}: storage error {first_line(exc)}")


def object_size(url: str) -> int:
    """Size in bytes; raises MissingObjectError / PermissionDeniedError."""
    try:
        fs, path = filesystem(url)
        return int(fs.size(path))
    except Exception as exc:  # noqa: BLE001 - every storage failure is mapped
        raise map_storage_error(exc, url) from exc


def exists(url: str) -> bool:
    try:
        fs, path = filesystem(url)
        return bool(fs.exists(path))
    except Exception as exc:  # noqa: BLE001
        raise map_storage_error(exc, url) from exc


_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"))


def location(url: str) -> str:
    """A canonical form for containment checks: local paths fully resolved (`..` and symlinks), URLs with
    their path normalised."""
    path = local_path(url)
    if path is not None:
        return os.path.realpath(path)
    fs, rpath = filesystem(url)
    return fs.unstrip_protocol(posixpath.normpath(rpath))


def check_under_roots(url: str, roots: Sequence[str]) -> None:
    """Refuse a URI that is not inside one of the allowed source roots (after resolving `..` and symlinks),
    so a crafted catalog value or a link in the source folder cannot make the job read elsewhere."""
    where = location(url)
    for root in roots:
        base = location(root).rstrip("/")
        if where == base or where.startswith(base + "/"):
            return
    allowed = ", ".join(repr(r) for r in roots) or "none configured"
    raise ForbiddenPathError(f"{url}: outside the allowed source roots ({allowed}); add its folder to "
                             "ingest.source_roots or move the file under one")


def check_regular_file(url: str) -> None:
    """Refuse, without opening it, a local path that is not a regular file: opening a FIFO blocks forever,
    a device streams without end. Object-store URLs always name objects."""
    path = local_path(url)
    if path is None:
        return
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegularFileError(f"{url}: a symlink loop, not a file; fix or remove the link") from None
        raise map_storage_error(exc, url) from None
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
        raise NotRegularFileError(f"{url}: is {kind}, not a video file; remove it from the source folder")


def check_readable(url: str) -> int:
    """Open the object and read its first byte, so missing and forbidden objects fail here, clearly.

    Returns the size in bytes. Local paths that are not regular files are refused before they are opened.
    """
    check_regular_file(url)
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
        check_regular_file(url)
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
        check_regular_file(url)
        yield path
        return
    tmpdir = tempfile.mkdtemp(prefix="seedvr-get-")
    try:
        dst = os.path.join(tmpdir, os.path.basename(url.rstrip("/")) or "object")
        try:
            fs, rpath = filesystem(url)
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
            raise map_storage_error(exc, url, write=True) from exc
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
            fs, rpath = filesystem(url)
            if not set(_protocols(fs)) & _OBJECT_STORES:  # on object stores makedirs would create buckets
                with contextlib.suppress(Exception):
                    fs.makedirs(rpath.rsplit("/", 1)[0], exist_ok=True)
            fs.put_file(tmp, rpath)
        except Exception as exc:  # noqa: BLE001
            raise map_storage_error(exc, url, write=True) from exc
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def remove(url: str) -> None:
    """Delete an object if present (used to clean up after failed runs)."""
    fs, path = filesystem(url)
    with contextlib.suppress(FileNotFoundError):
        fs.rm(path)
