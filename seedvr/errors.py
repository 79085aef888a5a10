"""One error taxonomy for the whole pipeline.

Every failure that can reach a result row carries a short, stable `error_class` string, so that the
restorations table can be filtered by cause ("corrupt", "timeout", ...) and the message says what to do.
"""

from __future__ import annotations


class SeedVRError(Exception):
    """Base class. `error_class` is the stable machine-readable cause written to result tables."""

    error_class: str = "error"

    def __init__(self, message: str, *, error_class: str | None = None) -> None:
        super().__init__(message)
        if error_class is not None:
            self.error_class = error_class


class ConfigError(SeedVRError, ValueError):
    """A configuration value is wrong (unknown preset, bad size, invalid option)."""

    error_class = "config"


class CheckpointError(SeedVRError):
    """Weights are missing, truncated, or do not match the preset's architecture."""

    error_class = "checkpoint"


class InputError(SeedVRError, ValueError):
    """Frames or tensors handed to the library have the wrong shape, dtype or length."""

    error_class = "input"


class VideoError(SeedVRError):
    """A video could not be read or written. Subclasses name the cause."""

    error_class = "video"


class MissingObjectError(VideoError, FileNotFoundError):
    error_class = "missing"


class PermissionDeniedError(VideoError, PermissionError):
    error_class = "permission"


class CorruptVideoError(VideoError):
    error_class = "corrupt"


class TruncatedVideoError(VideoError):
    error_class = "truncated"


class UnsupportedCodecError(VideoError):
    error_class = "unsupported_codec"


class NoVideoStreamError(VideoError):
    error_class = "no_video_stream"


class VideoTooLargeError(VideoError):
    error_class = "too_large"


class DecoderCrashError(CorruptVideoError):
    """The isolated decoder died on a signal (a native crash): the file, or the decoder, is broken."""

    error_class = "crash"


class NotRegularFileError(VideoError):
    """A FIFO, device, socket, directory or symlink loop where a file was expected: refused unopened."""

    error_class = "not_a_file"


class ForbiddenPathError(VideoError):
    """A URI outside the configured source roots."""

    error_class = "forbidden"


class ProbeTimeoutError(VideoError):
    error_class = "timeout"


class BadTimestampsError(VideoError):
    error_class = "bad_timestamps"


class OutOfMemoryError(SeedVRError):
    """The device ran out of memory even at the smallest tile size."""

    error_class = "oom"


def first_line(exc: BaseException) -> str:
    """`Type: first line of the message`, bounded: what a one-line error shows of a library exception."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def error_class_of(exc: BaseException) -> str:
    """Map any exception to the stable cause string stored in result tables."""
    if isinstance(exc, SeedVRError):
        return exc.error_class
    name = type(exc).__name__
    if "OutOfMemory" in name:
        return "oom"
    if isinstance(exc, FileNotFoundError):
        return "missing"
    if isinstance(exc, PermissionError):
        return "permission"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "internal"
