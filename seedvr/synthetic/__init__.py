"""Deterministic sample clips: camera motion over CC0 stills, a generated-looking scene, and degradations."""

from seedvr.synthetic.aigen import make_ai_clip
from seedvr.synthetic.catalog import SAMPLES, SampleSpec, make_sample_catalog
from seedvr.synthetic.degrade import DEGRADATIONS, DegradationSpec, degrade, h264_roundtrip
from seedvr.synthetic.motion import MOTIONS, CameraMotion, make_clip
from seedvr.synthetic.mp4 import write_mp4
from seedvr.synthetic.sources import STILLS, load_source, procedural_texture, stills_available

__all__ = [
    "DEGRADATIONS",
    "MOTIONS",
    "SAMPLES",
    "STILLS",
    "CameraMotion",
    "DegradationSpec",
    "SampleSpec",
    "degrade",
    "h264_roundtrip",
    "load_source",
    "make_ai_clip",
    "make_clip",
    "make_sample_catalog",
    "procedural_texture",
    "stills_available",
    "write_mp4",
]
