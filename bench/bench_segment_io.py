"""Cost of the job's intermediates: the digest taken while writing and checked while decoding, against a
separate hash pass on each side; and the stitch with segments decoded ahead of the encoder, against
decoding them in the encoder's thread.

Each side runs in this process, interleaved, `--iters` times; figures are min/median/max of process CPU
seconds (steady on a shared machine) and wall seconds.

    .venv/bin/python bench/bench_segment_io.py             # 720p, 96 frames, segments of 33 + 8 context
    .venv/bin/python bench/bench_segment_io.py --tiny      # 160x96, 24 frames
"""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable

from bench_stitch import make_source
from common import bench_parser, emit  # noqa: I001 - also puts the repository on sys.path

from seedvr.restorer import IdentityRestorer
from seedvr.video.decode import read_frames
from seedvr.video.encode import EncodeSettings
from seedvr.video.intermediate import iter_segment, segment_key, write_segment
from seedvr.video.plan import plan_segments
from seedvr.video.probe import probe
from seedvr.video.stitch import stitch_video
from seedvr.video.storage import sha256_file


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(fn: Callable[[], object]) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), cpu_seconds()
    fn()
    return time.perf_counter() - t0, cpu_seconds() - c0


def spread(xs: list[float]) -> str:
    return f"{min(xs):.3f}/{statistics.median(xs):.3f}/{max(xs):.3f}"


def sides_for(codec: str, urls: list[str], sums: list[str | None], windows: list, info: object, segs: list,
              out: str, preset: str) -> dict[str, Callable[[], object]]:
    """The old and new way of each step, over the same segment files; `sums` is filled by the writes."""

    def write_streamed() -> None:
        for k, (u, x) in enumerate(zip(urls, windows, strict=True)):
            sums[k] = write_segment(u, x, codec=codec, threads=1).sha256

    def write_then_hash() -> None:
        for u, x in zip(urls, windows, strict=True):
            write_segment(u, x, codec=codec, threads=1, digest=False)
            sha256_file(u)

    def read_streamed() -> None:
        for u, d in zip(urls, sums, strict=True):
            for _ in iter_segment(u, sha256=d):
                pass

    def hash_then_read() -> None:
        for u, d in zip(urls, sums, strict=True):
            assert sha256_file(u) == d
            for _ in iter_segment(u):
                pass

    def stitch(ahead: int) -> Callable[[], object]:
        return lambda: stitch_video(info, segs, urls, out, settings=EncodeSettings(crf=18, preset=preset),
                                    checksums=sums, read_ahead=ahead)

    return {"write, digest in the pass": write_streamed, "write, then hash": write_then_hash,
            "read, digest in the pass": read_streamed, "hash, then read": hash_then_read,
            "stitch, read-ahead": stitch(4), "stitch, inline reads": stitch(0)}


def main() -> None:
    p = bench_parser("intermediates hashed in the write/decode pass; stitch read-ahead")
    p.add_argument("--preset", default="medium", help="x264 preset of the final encode (product default)")
    args = p.parse_args()
    w, h, n = (160, 96, 24) if args.tiny else (1280, 720, 96)
    seg, ctx = (9, 2) if args.tiny else (33, 8)
    iters = args.iters or 3
    with tempfile.TemporaryDirectory(prefix="bench-segio-") as tmp:
        src = os.path.join(tmp, "src.mp4")
        make_source(src, n, w, h)
        info = probe(src)
        segs = plan_segments(info.num_frames, seg, ctx)
        windows = [IdentityRestorer(1).restore(read_frames(src, s.window_start, s.window_stop, info), seed=0)
                   for s in segs]
        for codec in ("rawvideo", "utvideo"):
            root = os.path.join(tmp, codec)
            urls = [segment_key(root, "v", "c", s.index) for s in segs]
            sums: list[str | None] = [None] * len(segs)
            sides = sides_for(codec, urls, sums, windows, info, segs, os.path.join(tmp, "out.mp4"), args.preset)
            sides["write, digest in the pass"]()
            got: dict[str, list[tuple[float, float]]] = {k: [] for k in sides}
            for _ in range(iters):  # interleaved: machine noise hits every side alike
                for name, fn in sides.items():
                    got[name].append(measure(fn))
            frames = sum(len(x) for x in windows)
            for name, xs in got.items():
                emit(args, {"name": "segment_io", "intermediate": codec, "side": name, "size": f"{w}x{h}",
                            "frames": frames, "cpu_s": spread([c for _, c in xs]),
                            "wall_s": spread([t for t, _ in xs])})
            for a, b in (("write, digest in the pass", "write, then hash"), ("read, digest in the pass",
                                                                              "hash, then read"),
                         ("stitch, read-ahead", "stitch, inline reads")):
                ca = statistics.median(c for _, c in got[a])
                cb = statistics.median(c for _, c in got[b])
                ta = statistics.median(t for t, _ in got[a])
                tb = statistics.median(t for t, _ in got[b])
                emit(args, {"name": "segment_io_ratio", "intermediate": codec, "new": a, "old": b,
                            "cpu_ratio": round(ca / cb, 3), "wall_ratio": round(ta / tb, 3)})


if __name__ == "__main__":
    main()
