"""sha256 of a file taken in the same pass that writes or decodes it, so an intermediate is hashed once.

A segment file used to be hashed after it was written and again before it was decoded: two more passes
over its bytes, as much CPU as writing and reading an uncompressed one. Here the muxer writes, and the
demuxer reads, through a file object that hashes the contiguous prefix of what passes; whatever the
container skipped or rewrote (MKV seeks back to patch its header) is hashed from the file at the end.

PyAV reports an exception raised in a file object's callback as a bare `PyAVCallbackError`, so the file
object keeps the OSError it met (a full disk, a failed read) and `cause` hands that back to the caller.
"""

from __future__ import annotations

import hashlib
import io
import os
from typing import BinaryIO

_CHUNK = 1 << 20


class _Hashing(io.RawIOBase):
    """A seekable raw file that hashes bytes [0, hashed) as they pass in order."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self._h = hashlib.sha256()
        self._hashed = 0  # bytes [0, _hashed) are in the digest
        self._pos = 0
        self.failure: OSError | None = None  # the I/O error a callback met, for `cause`

    def cause(self, exc: BaseException) -> BaseException:
        """The error to report for `exc`, raised by PyAV around this file: the OSError underneath, if any."""
        return self.failure if self.failure is not None else exc

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self._pos = self._f.seek(offset, whence)
        return self._pos

    def _saw(self, pos: int, data: memoryview | bytes) -> None:
        """Extend the digest with `data` (found at `pos`) where it continues the hashed prefix."""
        end = pos + len(data)
        if pos <= self._hashed < end:
            self._h.update(data[self._hashed - pos:])
            self._hashed = end

    def hexdigest(self, path: str) -> str:
        """The file's sha256: the prefix seen so far, then the rest read from `path`."""
        with open(path, "rb") as f:
            f.seek(self._hashed)
            while chunk := f.read(_CHUNK):
                self._h.update(chunk)
                self._hashed += len(chunk)
        return self._h.hexdigest()


class HashingWriter(_Hashing):
    """Output for `av.open(HashingWriter(f), "w", ...)`: a write behind the hashed prefix (a header patched
    after the fact) spoils the running digest, and `hexdigest` then hashes the finished file whole."""

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | memoryview) -> int:  # type: ignore[override]
        view = memoryview(data).cast("B")
        if self._pos < self._hashed:
            self._h, self._hashed = hashlib.sha256(), 0
        try:
            n = self._f.write(view)
        except OSError as exc:
            self.failure = exc
            raise
        self._saw(self._pos, view[:n])
        self._pos += n
        return n


class HashingReader(_Hashing):
    """Input for `av.open(HashingReader(f), "r", ...)`; `hexdigest(path)` after the last frame."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            n = self._f.readinto(buffer) or 0
        except OSError as exc:
            self.failure = exc
            raise
        self._saw(self._pos, memoryview(buffer).cast("B")[:n])
        self._pos += n
        return n
