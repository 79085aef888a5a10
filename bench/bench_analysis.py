"""Archive analysis accuracy and cost on generated clips with known truth.

For each size and seed: interlaced (TFF/BFF, flagged and not), telecined, letterbox, pillarbox,
anamorphic, multi-shot with hard cuts, a dissolve, and the controls (fast progressive motion, a dark
scene). Prints scan-type accuracy, cut precision/recall/F1 and frame error, active-area error in pixels,
false positives on the controls and CPU-seconds per analysed frame.

    .venv/bin/python bench/bench_analysis.py            # 3 seeds x 2 sizes
    .venv/bin/python bench/bench_analysis.py --tiny     # 1 seed, 1 size
    .venv/bin/python bench/bench_analysis.py --shots transnetv2   # the learned shot detector (shots extra)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seedvr.synthetic import archive  # noqa: E402
from seedvr.video.analysis import analyse  # noqa: E402
from seedvr.video.probe import probe  # noqa: E402


def cases(size: tuple[int, int], seed: int) -> list[archive.ArchiveClip]:
    s = 20 * seed
    shots = tuple(int(x) for x in (24 + seed * 3, 30, 18 + seed * 5, 40))
    return [
        archive.interlaced("tff", True, size=size, seed=s), archive.interlaced("tff", False, size=size, seed=s + 1),
        archive.interlaced("bff", True, size=size, seed=s + 2), archive.interlaced("bff", False, size=size, seed=s + 3),
        archive.telecined(size=size, seed=s + 4),
        archive.boxed("letterbox", bar=size[0] // 8 * 1, size=size, seed=s + 5),
        archive.boxed("pillarbox", bar=size[1] // 8, size=size, seed=s + 6),
        archive.anamorphic(Fraction(32, 27) if seed % 2 else Fraction(8, 9), size=size, seed=s + 7),
        archive.multi_shot(shots, size=size, seed=s + 8), archive.dissolve(size=size, seed=s + 9),
        archive.progressive(size=size, fast=True, seed=s + 10), archive.dark_scene(size=size, seed=s + 11),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--shots", default="scdet", choices=("scdet", "transnetv2"), help="shot cut detector")
    args = ap.parse_args()
    sizes = [(240, 320)] if args.tiny else [(240, 320), (288, 384)]
    seeds = [1] if args.tiny else [1, 2, 3]
    scan_ok = scan_n = 0
    tp = fp = fn = 0
    frame_err: list[int] = []
    bar_err: list[int] = []
    control_fp = 0
    cpu = frames = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            for seed in seeds:
                for clip in cases(size, seed):
                    path = str(archive.write_clip(clip, tmp))
                    info = probe(path, isolate=False)
                    t0 = time.process_time()
                    a = analyse(path, info, shots=args.shots)
                    cpu += time.process_time() - t0
                    frames += info.num_frames
                    truth = clip.truth
                    if "scan" in truth:
                        scan_n += 1
                        want = (truth["scan"], truth.get("field_order"))
                        got = (a.scan.kind, a.scan.field_order if truth["scan"] == "interlaced" else None)
                        scan_ok += got == want
                        if got != want:
                            print(f"  scan miss {clip.name} {size} seed {seed}: {got} != {want}")
                    if "cuts" in truth:
                        want_c, got_c = set(truth["cuts"]), list(a.cut_frames)
                        for c in got_c:
                            near = [w for w in want_c if abs(w - c) <= 2]
                            if near:
                                tp += 1
                                frame_err.append(abs(near[0] - c))
                                want_c.discard(near[0])
                            else:
                                fp += 1
                        fn += len(want_c)
                    if "dissolve" in truth:
                        lo, hi = truth["dissolve"]
                        bad = [c for c in a.cut_frames if not lo <= c <= hi]
                        fp += len(bad) + max(0, len(a.cut_frames) - len(bad) - 1)
                    if "bars" in truth:
                        got_b = a.active.bars()
                        bar_err += [abs(got_b[k] - truth["bars"][k]) for k in got_b]
                    if clip.name in ("fast-motion", "dark-scene"):
                        control_fp += (a.scan.kind != "progressive") + len(a.cut_frames) + (not a.active.full)
                    if "sar" in truth and a.pixels.sar != truth["sar"]:
                        print(f"  sar miss {clip.name}: {a.pixels.sar} != {truth['sar']}")
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    print(f"clips: {len(sizes) * len(seeds) * 12} ({len(sizes)} sizes x {len(seeds)} seeds), shots: {args.shots}")
    print(f"scan type accuracy: {scan_ok}/{scan_n} = {scan_ok / max(1, scan_n):.3f}")
    print(f"cuts: precision {prec:.3f}, recall {rec:.3f}, F1 {f1:.3f}; frame error max "
          f"{max(frame_err, default=0)} (mean {sum(frame_err) / max(1, len(frame_err)):.2f})")
    print(f"active area: max error {max(bar_err, default=0)} px over {len(bar_err)} edges")
    print(f"false positives on the controls (fast motion, dark scene): {control_fp}")
    print(f"cost: {1000 * cpu / max(1, frames):.2f} CPU-ms per frame at these sizes ({frames:.0f} frames)")


if __name__ == "__main__":
    main()
