"""A deterministic, seeded degradation pipeline in the spirit of RealBasicVSR's, cheap enough for tests.

Order: Gaussian blur -> motion blur -> bicubic downscale -> noise -> JPEG -> H.264. Parameters are per
clip (as RealBasicVSR does), so the degradation is temporally consistent apart from the noise field.
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass

import av
import cv2
import numpy as np

from seedvr.errors import ConfigError, InputError


@dataclass(frozen=True)
class DegradationSpec:
    """What to do to a clip. Zero disables a step.

    - `blur_sigma`: isotropic Gaussian blur, pixels at the input size.
    - `motion_blur_px`, `motion_blur_deg`: a line kernel of that length and angle.
    - `downscale`: integer factor, bicubic; output sides are rounded down to even numbers.
    - `noise_sigma`: Gaussian noise in 0-255 units; `noise_fixed` reuses one field for every frame
      (film grain / fixed pattern) instead of fresh sensor noise per frame.
    - `jpeg_quality`: per-frame JPEG 1-100.
    - `h264_crf` or `h264_bitrate` (bit/s): one in-memory libx264 pass; bitrate wins when both are set.
    """

    blur_sigma: float = 0.0
    motion_blur_px: int = 0
    motion_blur_deg: float = 0.0
    downscale: int = 1
    noise_sigma: float = 0.0
    noise_fixed: bool = False
    jpeg_quality: int = 0
    h264_crf: int = 0
    h264_bitrate: int = 0

    def __post_init__(self) -> None:
        checks = {
            "blur_sigma": 0 <= self.blur_sigma <= 20,
            "motion_blur_px": 0 <= self.motion_blur_px <= 64,
            "motion_blur_deg": math.isfinite(self.motion_blur_deg),
            "downscale": isinstance(self.downscale, int) and 1 <= self.downscale <= 8,
            "noise_sigma": 0 <= self.noise_sigma <= 100,
            "jpeg_quality": 0 <= self.jpeg_quality <= 100,
            "h264_crf": 0 <= self.h264_crf <= 51,
            "h264_bitrate": self.h264_bitrate == 0 or 1_000 <= self.h264_bitrate <= 100_000_000,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise ConfigError(
                f"DegradationSpec out of range: {', '.join(f'{k}={getattr(self, k)!r}' for k in bad)} "
                "(blur_sigma 0-20, motion_blur_px 0-64, downscale int 1-8, noise_sigma 0-100, jpeg_quality 0-100, "
                "h264_crf 0-51, h264_bitrate 0 or 1e3-1e8)"
            )

    def to_dict(self) -> dict[str, float | int | bool]:
        return asdict(self)


# Presets used by the demo catalog and the tests: a light, a heavy and a compression-dominated archive look.
DEGRADATIONS: dict[str, DegradationSpec] = {
    "light": DegradationSpec(blur_sigma=0.8, downscale=2, noise_sigma=3.0, h264_crf=28),
    "heavy": DegradationSpec(blur_sigma=1.2, downscale=2, noise_sigma=8.0, jpeg_quality=45, h264_crf=34),
    "vhs": DegradationSpec(motion_blur_px=5, motion_blur_deg=10.0, downscale=2, noise_sigma=5.0, noise_fixed=True,
                           h264_bitrate=60_000),
}


# MB-tree off: see h264_roundtrip. Costs a little compression efficiency, irrelevant for sample clips.
X264_DETERMINISTIC = "mbtree=0"


def _motion_kernel(length: int, degrees: float) -> np.ndarray:
    k = np.zeros((length, length), np.float32)
    k[length // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), degrees, 1.0)
    k = cv2.warpAffine(k, rot, (length, length), flags=cv2.INTER_LINEAR)
    return k / max(float(k.sum()), 1e-6)


def h264_roundtrip(frames: np.ndarray, *, crf: int = 0, bitrate: int = 0, fps: int = 25) -> np.ndarray:
    """Encode with libx264 into memory and decode back: real codec artefacts, bit-reproducible.

    One thread, a fixed preset and MB-tree off keep the bitstream identical between runs: with MB-tree on,
    the libx264 in the PyAV wheel was measured to give different bitstreams for the same frames when
    called repeatedly in one process.
    """
    t, h, w, _ = frames.shape
    if h % 2 or w % 2:
        raise InputError(f"H.264 (yuv420p) needs even frame sides, got {w}x{h}; crop or resize to even sides first")
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        opts = {"preset": "medium", "threads": "1", "g": str(2 * fps), "x264-params": X264_DETERMINISTIC}
        if bitrate:
            stream.bit_rate = int(bitrate)
        else:
            opts["crf"] = str(crf)
        stream.options = opts
        for f in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")))
        out.mux(stream.encode(None))
    buf.seek(0)
    with av.open(buf, "r") as inp:
        decoded = [fr.to_ndarray(format="rgb24") for fr in inp.decode(video=0)]
    if len(decoded) != t:
        raise AssertionError(f"H.264 round trip returned {len(decoded)} frames for {t}")
    return np.stack(decoded)


def degrade(frames: np.ndarray, spec: DegradationSpec, seed: int) -> np.ndarray:
    """Apply `spec` to (T, H, W, 3) uint8 frames; the same seed gives the same bytes."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise InputError(f"degrade expects (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    rng = np.random.default_rng(seed)
    x = frames.astype(np.float32)
    t, h, w, _ = x.shape
    if spec.blur_sigma > 0:
        x = np.stack([cv2.GaussianBlur(f, (0, 0), spec.blur_sigma, borderType=cv2.BORDER_REFLECT) for f in x])
    if spec.motion_blur_px > 1:
        k = _motion_kernel(spec.motion_blur_px, spec.motion_blur_deg)
        x = np.stack([cv2.filter2D(f, -1, k, borderType=cv2.BORDER_REFLECT) for f in x])
    if spec.downscale > 1:
        nh, nw = (h // spec.downscale) // 2 * 2, (w // spec.downscale) // 2 * 2
        if nh < 2 or nw < 2:
            raise InputError(f"downscale {spec.downscale} leaves no pixels of a {w}x{h} clip")
        x = np.stack([cv2.resize(f, (nw, nh), interpolation=cv2.INTER_CUBIC) for f in x])
    if spec.noise_sigma > 0:
        shape = (1, *x.shape[1:]) if spec.noise_fixed else x.shape
        x = x + rng.standard_normal(shape, dtype=np.float32) * spec.noise_sigma
    out = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    if spec.jpeg_quality > 0:
        params = [cv2.IMWRITE_JPEG_QUALITY, int(spec.jpeg_quality)]
        out = np.stack(
            [cv2.imdecode(cv2.imencode(".jpg", f[..., ::-1], params)[1], cv2.IMREAD_COLOR)[..., ::-1] for f in out]
        )
    if spec.h264_bitrate or spec.h264_crf:
        out = h264_roundtrip(out, crf=spec.h264_crf, bitrate=spec.h264_bitrate)
    return np.ascontiguousarray(out)
