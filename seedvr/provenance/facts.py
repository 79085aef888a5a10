"""What a restored file states about itself: the facts its manifest and container tags are built from."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

DISCLOSURE = ("Restored with a generative AI model (SeedVR): detail, texture and motion may have been "
              "invented and are not a record of the original.")
# IPTC digital source type for content a trained model has changed (C2PA's term for generative edits).
TRAINED_MODEL_EDIT = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
_NAMESPACE = uuid.UUID("5f0c7a2e-3b9e-4d8e-9a51-7d0b5a1e6c42")


@dataclass(frozen=True)
class Source:
    """The parent file: where it was, how big, what digest (the catalog's file version identifies it)."""

    uri: str
    size_bytes: int | None = None
    sha256: str | None = None
    file_version: str | None = None
    format: str | None = None

    @property
    def instance_id(self) -> str:
        """One id per source file version, so that every restoration of it names the same parent."""
        key = f"source/{self.uri}/{self.file_version or self.sha256 or ''}"
        return f"xmp:iid:{uuid.uuid5(_NAMESPACE, key)}"


@dataclass(frozen=True)
class Transform:
    """A picture change before the model (deinterlace, inverse telecine, crop, resize to square pixels)."""

    action: str  # a C2PA action name: c2pa.filtered, c2pa.cropped, c2pa.resized
    name: str  # what the project calls it: deinterlace, inverse_telecine, crop_bars, square_pixels
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RestorationFacts:
    software: str
    software_version: str
    code_version: str
    preset: str
    model: str
    weights_sha256: str | None
    config_hash: str
    run_id: str
    title: str
    source: Source
    job_id: str | None = None
    job_run_id: str | None = None
    video_id: str | None = None
    transforms: tuple[Transform, ...] = ()
    disclosure: str = DISCLOSURE
    # False for the identity preset (resized and re-encoded, no model): no generative-edit statement.
    generative: bool = True

    @property
    def instance_id(self) -> str:
        """The same restoration of the same source version gets the same id, whichever run made it."""
        key = f"{self.config_hash}/{self.video_id or self.source.uri}/{self.source.file_version or ''}"
        return f"xmp:iid:{uuid.uuid5(_NAMESPACE, key)}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# What the archive preparation reports it did (seedvr.video.prepare's words) -> the C2PA action it is.
_PREPARATION_ACTIONS = (("inverse telecine", "c2pa.filtered", "inverse_telecine"),
                        ("deinterlace", "c2pa.filtered", "deinterlace"),
                        ("active picture", "c2pa.cropped", "crop_bars"),
                        ("square pixels", "c2pa.resized", "square_pixels"))


def transforms_from_applied(applied: list[str] | tuple[str, ...]) -> tuple[Transform, ...]:
    """The preparation steps as actions, each with its own words as the detail; unknown steps are kept as
    generic filters rather than dropped."""
    out = []
    for text in applied:
        for prefix, action, name in _PREPARATION_ACTIONS:
            if text.startswith(prefix):
                out.append(Transform(action, name, {"detail": text}))
                break
        else:
            if not text.startswith("segments bounded"):  # a planning choice, not a picture change
                out.append(Transform("c2pa.filtered", "preparation", {"detail": text}))
    return tuple(out)
