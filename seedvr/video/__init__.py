"""Video I/O: exact probing and frame-range decoding, segment plans, lossless intermediates, stitching.

`seedvr.video.pipeline.restore_clip` runs the whole path for one clip without Spark.
"""

from seedvr.video.decode import iter_frames, read_frames
from seedvr.video.encode import EncodeSettings
from seedvr.video.info import ColorInfo, StreamInfo, VideoInfo
from seedvr.video.intermediate import SegmentFile, iter_segment, read_segment, segment_key, write_segment
from seedvr.video.plan import Segment, check_plan, plan_segments
from seedvr.video.probe import probe
from seedvr.video.stitch import StitchResult, blend_stream, stitch_video

__all__ = [
    "ColorInfo",
    "EncodeSettings",
    "Segment",
    "SegmentFile",
    "StitchResult",
    "StreamInfo",
    "VideoInfo",
    "blend_stream",
    "check_plan",
    "iter_frames",
    "iter_segment",
    "plan_segments",
    "probe",
    "read_frames",
    "read_segment",
    "segment_key",
    "stitch_video",
    "write_segment",
]
