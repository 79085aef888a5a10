"""Video I/O: exact probing and frame-range decoding, segment plans, lossless intermediates, stitching.

`seedvr.video.pipeline.restore_clip` runs the whole path for one clip without Spark. Names are
imported lazily so that the isolated probe child (`python -m seedvr.video._child`) starts quickly.
The probe function is `seedvr.video.probe.probe`: a package-level `probe` would clash with the
submodule of that name (`import seedvr.video.probe as m` and `mock.patch` paths would then break).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "iter_frames": "decode",
    "read_frames": "decode",
    "EncodeSettings": "encode",
    "ColorInfo": "info",
    "StreamInfo": "info",
    "VideoInfo": "info",
    "SegmentFile": "intermediate",
    "iter_segment": "intermediate",
    "read_segment": "intermediate",
    "segment_key": "intermediate",
    "write_segment": "intermediate",
    "Segment": "plan",
    "check_plan": "plan",
    "plan_segments": "plan",
    "StitchResult": "stitch",
    "blend_stream": "stitch",
    "stitch_video": "stitch",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"seedvr.video.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'seedvr.video' has no attribute {name!r}")
