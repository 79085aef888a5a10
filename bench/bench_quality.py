"""Cost of each quality score per frame (or per frame pair), on 720p frames by default.

The frames are a synthetic camera pan over a CC0 photo with light noise and JPEG blocking, so every
score works on realistic content. One call per score is timed (median of `--iters` after a warm-up); the
table is what docs/quality.md quotes, and `score_clip` costs about the sum of the scores it runs per
sampled frame.

    .venv/bin/python bench/bench_quality.py           # 1280x720
    .venv/bin/python bench/bench_quality.py --tiny    # 160x96, a smoke run
    .venv/bin/python bench/bench_quality.py --lpips-weights alexnet.pth,alex.pth
"""

from __future__ import annotations

import cv2
from common import bench_parser, emit, time_fn, warmup_and_iters  # noqa: I001 - also puts the repository on sys.path

from seedvr.quality import (
    FrameSampler,
    ScoreConfig,
    blockiness,
    lr_delta_e,
    lr_psnr,
    noise_sigma,
    psnr,
    score_clip,
    sharpness,
    ssim,
    warp_error,
)
from seedvr.synthetic import DegradationSpec, degrade, make_clip


def main() -> None:
    p = bench_parser("quality score cost per frame")
    p.add_argument("--lpips-weights", default=None, help="local LPIPS weights to time LPIPS too")
    p.add_argument("--lpips-random", action="store_true",
                   help="time LPIPS with random weights (same cost; for machines without the weight files)")
    args = p.parse_args()
    h, w = (96, 160) if args.tiny else (720, 1280)
    warmup, iters = warmup_and_iters(args, tiny=3, full=5)
    cv2.setNumThreads(cv2.getNumThreads())

    ref = make_clip("coffee", 3, (h, w), "pan", seed=0)
    out = degrade(ref, DegradationSpec(noise_sigma=3, jpeg_quality=60), seed=0)
    lq = degrade(ref, DegradationSpec(downscale=4), seed=0)
    a, b = out[0], ref[0]

    cases = {
        "sharpness": lambda: sharpness(a),
        "noise_sigma": lambda: noise_sigma(a),
        "blockiness": lambda: blockiness(a),
        "psnr": lambda: psnr(a, b),
        "ssim": lambda: ssim(a, b),
        "lr_psnr": lambda: lr_psnr(a, lq[0]),
        "lr_delta_e": lambda: lr_delta_e(a, lq[0]),
        "warp_error[ultrafast]": lambda: warp_error(out, 0, preset="ultrafast"),
        "warp_error[fast]": lambda: warp_error(out, 0, preset="fast"),
        "warp_error[medium]": lambda: warp_error(out, 0, preset="medium"),
        "warp_error[fast, input flow]": lambda: warp_error(out, 0, flow_frames=lq, preset="fast"),
    }
    if args.lpips_weights or args.lpips_random:
        from seedvr.quality.lpips import LPIPSAlex, load_lpips, lpips_distance

        model = load_lpips(args.lpips_weights) if args.lpips_weights else LPIPSAlex().eval()
        cases["lpips[alex]"] = lambda: lpips_distance(model, a, b)
    from seedvr.quality.niqe import bundled_params_path, niqe

    if bundled_params_path() and min(h, w) > 193:
        cases["niqe"] = lambda: niqe(a)
    per_frame = ScoreConfig(sampler=FrameSampler(max_frames=3))
    cases["score_clip (3 frames, all scores), per frame"] = lambda: score_clip(
        out, reference=ref, lq=lq, config=per_frame
    )

    print(f"# {w}x{h}, cv2 threads {cv2.getNumThreads()}, median of {iters}")
    for name, fn in cases.items():
        t = time_fn(fn, warmup=warmup, iters=iters)
        ms = t.median * 1e3 / (3 if name.startswith("score_clip") else 1)
        emit(args, {"score": name, "size": f"{w}x{h}", "ms": round(ms, 2)})


if __name__ == "__main__":
    main()
