"""Identity of a weights file for the config hash, without hashing gigabytes on every run."""

from __future__ import annotations

from seedvr.errors import ConfigError


def weights_identity(weights: str | None, known_sha256: str | None) -> tuple[str | None, str | None]:
    """(identity used in the config hash, sha256 when known).

    A configured sha256 is the identity. Otherwise the URI plus what the store says about the bytes
    (size and etag or mtime): a replaced file gets a new identity, hence a new config hash, without
    reading it. The executors record the digest they actually loaded (restorer.info) per segment row.
    """
    if not weights:
        return None, known_sha256
    if known_sha256:
        return f"sha256:{known_sha256}", known_sha256
    from seedvr.video.storage import credentials_hint, filesystem

    fs, path = filesystem(weights)  # an unknown or uninstalled protocol names its extra
    try:
        info = fs.info(path)
    except FileNotFoundError:
        raise ConfigError(f"weights {weights!r} not found; check model.weights / --weights") from None
    except Exception as exc:  # noqa: BLE001
        hint = credentials_hint(exc, weights)
        raise ConfigError(hint or f"weights {weights!r} cannot be read: {type(exc).__name__}: {exc}") from None
    if info.get("type") == "directory":  # a weights folder: every file's name, size and etag/mtime
        import hashlib

        files = fs.find(path, detail=True)
        parts = sorted(f"{k.rsplit('/', 1)[-1]}|{v.get('size')}|{_tag(v)}" for k, v in files.items())
        return f"{weights}|dir:{hashlib.sha256(chr(10).join(parts).encode()).hexdigest()[:16]}", None
    return f"{weights}|{info.get('size')}|{_tag(info)}", None


def _tag(info: dict) -> object:
    return info.get("ETag") or info.get("etag") or info.get("mtime") or info.get("LastModified")
