"""The restore stage's three parts overlapped vs one after another, in one executor task.

A task reads each segment's window (sandboxed decode), restores it and writes the intermediate. Run in
turn, its wall time is the sum of the three; overlapped (udfs.overlap), it should approach the slowest.
Both sides run the same `RestoreSegments` methods on the same rows (no engine): serially, and through
its `__call__`. Printed per preset: wall seconds (min/median/max), the per-part sums from the rows, and
the ratio of the overlapped wall time to the serial one and to the slowest part.

    .venv/bin/python bench/bench_restore_overlap.py --tiny     # identity and tiny-v2, 160x96, 45 frames
    .venv/bin/python bench/bench_restore_overlap.py            # identity and tiny-v2, 320x192, 61 frames
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time

import pandas as pd
from common import bench_parser, emit  # noqa: I001 - also puts the repository on sys.path

from seedvr.video.plan import plan_segments
from seedvr.video.probe import probe
from udfs.model_cache import ModelSpec
from udfs.restore_segments import RestoreSegments, RestoreSettings


def _rows(url: str, n_frames: int, seg: int, ctx: int) -> pd.DataFrame:
    info = probe(url)
    segs = plan_segments(info.num_frames, seg, ctx, ())
    return pd.DataFrame([{"video_id": "bench", "uri": url, "file_version": "v", "info_json": json.dumps(info.to_dict()),
                          "source_root": os.path.dirname(url), "segment_index": s.index,
                          "window_start": s.window_start, "first_output": s.first_output,
                          "last_output": s.last_output} for s in segs])


def _serial(stage: RestoreSegments, batch: pd.DataFrame) -> list[dict]:
    out = []
    for r in batch.itertuples(index=False):
        out.append(stage.write(r, stage.compute(r, stage.read(r))))
    return out


def _overlapped(stage: RestoreSegments, batch: pd.DataFrame) -> list[dict]:
    # One row per batch, as the engine sends them.
    batches = (batch.iloc[[i]] for i in range(len(batch)))
    return [r for frame in stage(batches) for r in frame.to_dict(orient="records")]


def main() -> None:
    p = bench_parser("restore stage: overlapped read/restore/write vs serial")
    args = p.parse_args()
    from seedvr.synthetic import make_clip, write_mp4

    p_size = (160, 96) if args.tiny else (320, 192)
    w, h = p_size
    frames = 45 if args.tiny else 61
    iters = args.iters or 3
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "src.mp4")
        write_mp4(make_clip("procedural:1", frames, (h, w), seed=1), src)
        batch = _rows(src, frames, 9, 2)
        for preset in ("identity", "tiny-v2"):
            walls: dict[str, list[float]] = {"serial": [], "overlapped": []}
            parts = {"read_s": 0.0, "restore_s": 0.0, "write_s": 0.0}
            for it in range(iters):
                for mode, fn in (("serial", _serial), ("overlapped", _overlapped)):
                    settings = RestoreSettings(model=ModelSpec.make(preset), config_hash=f"{preset}-{mode}-{it}",
                                               output_root=os.path.join(d, "out"), score=False)
                    stage = RestoreSegments(settings)
                    stage.setup("cpu")  # the model is loaded once per process, outside the timing
                    t0 = time.perf_counter()
                    rows = fn(stage, batch)
                    walls[mode].append(time.perf_counter() - t0)
                    assert all(r["status"] == "ok" for r in rows), [r.get("error_message") for r in rows]
                    if mode == "serial":
                        for k in parts:
                            parts[k] += sum(float(r.get(k) or 0) for r in rows) / iters
            med = {k: statistics.median(v) for k, v in walls.items()}
            slowest = max(parts.values())
            row = {"name": "restore_overlap", "preset": preset, "size": f"{w}x{h}", "segments": len(batch),
                   "serial_wall_s": [round(min(walls["serial"]), 3), round(med["serial"], 3), round(max(walls["serial"]), 3)],
                   "overlapped_wall_s": [round(min(walls["overlapped"]), 3), round(med["overlapped"], 3),
                                         round(max(walls["overlapped"]), 3)],
                   **{k: round(v, 3) for k, v in parts.items()},
                   "overlapped_over_serial": round(med["overlapped"] / med["serial"], 3),
                   "overlapped_over_slowest_part": round(med["overlapped"] / slowest, 3)}
            emit(args, row)


if __name__ == "__main__":
    main()
