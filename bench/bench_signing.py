"""What signing costs per output file: the C2PA seal (manifest, hash of the file's bytes, signature,
rewrite) against the encode it follows, and the sandboxed read of the source as an ingredient.

Both sides encode the same frames with the same settings; one also seals. Reported per file size: the
seal's own wall time (ms), the source-ingredient read (ms), and their share of the stitch (encode) time.
Signing hashes every byte of the output once more, so its cost grows with the file, not the frames.

    .venv/bin/python bench/bench_signing.py            # 1280x720, 48 and 192 frames
    .venv/bin/python bench/bench_signing.py --tiny     # 320x192, 24 frames
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time

import numpy as np
from common import bench_parser, emit  # noqa: I001 - also puts the repository on sys.path

from seedvr.provenance.facts import RestorationFacts, Source
from seedvr.provenance.ingredient import source_ingredient
from seedvr.provenance.manifest import ingredient_definition
from seedvr.provenance.seal import Sealer
from seedvr.provenance.signing import load_credential
from seedvr.provenance.tags import container_tags
from seedvr.provenance.test_certificate import ensure_test_chain
from seedvr.video.encode import EncodeSettings
from seedvr.video.probe import probe
from seedvr.video.stitch import encode_stream


def _frames(n: int, w: int, h: int):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (h + n, w + n, 3), dtype=np.uint8)
    for i in range(n):
        yield i, np.ascontiguousarray(base[i:i + h, i:i + w])


def _facts(src: str) -> RestorationFacts:
    return RestorationFacts(software="seedvr-lakehouse", software_version="0", code_version="0", preset="tiny-v2",
                            model="bench", weights_sha256=None, config_hash="0" * 16, run_id="bench",
                            title="out.mp4", source=Source(uri=src, size_bytes=os.path.getsize(src)))


def main() -> None:
    p = bench_parser("C2PA signing cost per output file")
    p.add_argument("--frames", type=int, nargs="*", default=None)
    args = p.parse_args()
    w, h = (320, 192) if args.tiny else (1280, 720)
    sizes = args.frames or ([24] if args.tiny else [48, 192])
    iters = args.iters or 3
    settings = EncodeSettings(preset="veryfast", crf=20)
    with tempfile.TemporaryDirectory() as d:
        cred = load_credential(*ensure_test_chain(os.path.join(d, "signing")))
        for n in sizes:
            src = os.path.join(d, f"src{n}.mp4")
            info0 = probe(_write_source(src, n, w, h, settings))
            info = info0
            plain, sealed, seal_s, ingredient_s = [], [], [], []
            for it in range(iters):
                t = time.perf_counter()
                encode_stream(info, _frames(n, w, h), os.path.join(d, f"plain{it}.mp4"), settings=settings)
                plain.append(time.perf_counter() - t)
                facts = _facts(src)
                t = time.perf_counter()
                archive, _ = source_ingredient(src, ingredient_definition(facts))
                ingredient_s.append(time.perf_counter() - t)
                sealer = Sealer(facts, cred, archive, tags=container_tags(facts))
                t = time.perf_counter()
                res = encode_stream(info, _frames(n, w, h), os.path.join(d, f"signed{it}.mp4"), settings=settings,
                                    tags=sealer.tags, seal=sealer)
                sealed.append(time.perf_counter() - t)
                seal_s.append(sealer.record.seconds)
            med = statistics.median
            row = {"name": "signing", "frames": n, "size": f"{w}x{h}", "output_mb": round(res.size_bytes / 2**20, 2),
                   "seal_ms": [round(1000 * min(seal_s), 1), round(1000 * med(seal_s), 1), round(1000 * max(seal_s), 1)],
                   "ingredient_ms": [round(1000 * min(ingredient_s), 1), round(1000 * med(ingredient_s), 1),
                                     round(1000 * max(ingredient_s), 1)],
                   "encode_s": round(med(plain), 3), "encode_and_seal_s": round(med(sealed), 3),
                   "seal_share_of_encode": round(med(seal_s) / med(plain), 4),
                   "seal_and_ingredient_share": round((med(seal_s) + med(ingredient_s)) / med(plain), 4)}
            print(f"{n} frames {w}x{h} ({row['output_mb']} MB): seal {row['seal_ms']} ms (min/median/max), "
                  f"ingredient {row['ingredient_ms']} ms, encode {row['encode_s']} s -> seal "
                  f"{100 * row['seal_share_of_encode']:.2f}% of the encode, with the ingredient "
                  f"{100 * row['seal_and_ingredient_share']:.2f}%")
            emit(args, row)


def _write_source(path: str, n: int, w: int, h: int, settings: EncodeSettings) -> str:
    import av

    with av.open(path, "w") as c:
        s = c.add_stream("libx264", rate=24, options={"preset": "ultrafast"})
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for _, f in _frames(n, w, h):
            for pkt in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return path


if __name__ == "__main__":
    main()
