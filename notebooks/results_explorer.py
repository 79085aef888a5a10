# Databricks notebook source
# MAGIC %md
# MAGIC # Results explorer
# MAGIC
# MAGIC What the restore runs produced, read from the result tables:
# MAGIC
# MAGIC 1. quality score distributions across the restored catalog, per preset;
# MAGIC 2. one video before and after, frames side by side;
# MAGIC 3. that video's scores recomputed next to the table's, and their per-frame curves with the joins marked;
# MAGIC 4. the provenance of its output: run, job run, code version, weights, config hash, engine, devices,
# MAGIC    and what the archive analysis found in the source and what the restoration did about it.
# MAGIC
# MAGIC Pick the video with the `video_id` widget (empty: the most recent successful restoration). Plots are
# MAGIC written as PNG files under `plots_dir` and shown inline on Databricks. Locally,
# MAGIC `python notebooks/results_explorer.py` runs on the embedded engine; widgets read
# MAGIC `SEEDVR_WIDGET_<NAME>` environment variables, else their defaults.

# COMMAND ----------

import os
import sys
from pathlib import Path
from typing import Any

# On Databricks a notebook's working directory is its folder; a script knows its own path.
BUNDLE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(globals().get("__file__") or "notebook")))
on_databricks = "DATABRICKS_RUNTIME_VERSION" in os.environ
try:
    import jobs  # noqa: F401 - the installed wheel
except ImportError:  # the bundle's synced files: import the code from the bundle root
    sys.path.insert(0, BUNDLE_ROOT)
if on_databricks and os.path.isdir(os.path.join(BUNDLE_ROOT, "conf")):
    # Prefer the bundle's synced profiles (editable in the workspace) over the copies in the wheel.
    os.environ.setdefault("SEEDVR_CONF_DIR", os.path.join(BUNDLE_ROOT, "conf"))

from jobs.databricks.notebook_support import NotebookContext  # noqa: E402 - after the import path is set

nb = NotebookContext(globals())
widget, show, show_png = nb.widget, nb.show, nb.show_png

# COMMAND ----------

# MAGIC %md ## Parameters

# COMMAND ----------

profile = widget("profile", "databricks_dev" if on_databricks else "local", "job profile (conf/<name>.yaml)")
catalog = widget("catalog", "", "catalog (empty: the profile's tables)")
schema = widget("schema", "", "schema")
video_id = widget("video_id", "", "video to inspect (empty: latest restored)")
max_frames = int(widget("max_frames", "96", "frames decoded for the before/after strip") or 96)
plots_dir = Path(widget("plots_dir", "/tmp/seedvr_plots" if on_databricks else "./var/plots", "PNG folder"))

# COMMAND ----------

from jobs.config import load_config  # noqa: E402
from jobs.engine import get_engine  # noqa: E402
from jobs.tables import table_refs  # noqa: E402
from seedvr.errors import ConfigError  # noqa: E402

overrides: dict[str, Any] = {}
if catalog or schema:
    overrides["tables"] = {"root": None, "catalog": catalog or None, "schema": schema or None}
cfg = load_config(profile, overrides)
engine = get_engine(cfg.engine, globals().get("spark"))
spark = engine.spark
tables = table_refs(cfg.tables)
plots_dir.mkdir(parents=True, exist_ok=True)

restorations = tables.restorations.read(spark).toPandas()
ok = restorations[restorations["status"] == "ok"]
print(f"{len(restorations)} restoration row(s) in {tables.restorations.label}, {len(ok)} ok")
if ok.empty:
    raise ConfigError(f"no successful restoration in {tables.restorations.label}: run the restore job first")
show(restorations.groupby(["preset", "status"]).size().rename("videos").reset_index())

# COMMAND ----------

# MAGIC %md ## 1. Score distributions across the catalog

# COMMAND ----------

from seedvr.quality.plots import frame_strip, score_curves, score_histograms  # noqa: E402
from seedvr.quality.video import HEADLINE_SCORES  # noqa: E402

scores = ok.assign(scores=ok["scores"].map(lambda m: dict(m or {})))
keys = sorted({k for m in scores["scores"] for k in m})
# Each video's own values (the restorations table's, as seedvr-restore's summary shows them), headline
# scores first: fidelity to the input, output / bicubic-input ratios, temporal error, worst seam.
picked = [k for k in HEADLINE_SCORES if k in keys] or keys[:4]
if picked:
    hist = {k: {p: [m.get(k) for m in g["scores"] if m.get(k) is not None] for p, g in scores.groupby("preset")}
            for k in picked}
    show_png(score_histograms(hist, plots_dir / "score_histograms.png", title="per-video scores by preset"))
else:
    print("the restorations carry no scores yet")

# COMMAND ----------

# MAGIC %md ## 2. Before and after

# COMMAND ----------

import json  # noqa: E402

import numpy as np  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from seedvr.video.decode import read_frames  # noqa: E402
from seedvr.video.info import VideoInfo  # noqa: E402
from seedvr.video.probe import probe  # noqa: E402

if video_id:
    chosen = ok[ok["video_id"] == video_id]
    if chosen.empty:
        raise ConfigError(f"video_id {video_id!r} has no successful restoration; "
                          f"some that do: {', '.join(ok['video_id'].head(5))}")
else:
    chosen = ok.sort_values("finished_at", ascending=False)
row = chosen.iloc[0]
video_id = str(row["video_id"])
source = tables.videos.read(spark).filter(F.col("video_id") == video_id).select("info_json").toPandas()
src_info = VideoInfo.from_dict(json.loads(source["info_json"].iloc[0]))
# The job wrote this file: probe it in-process (a sandboxed child would re-run a script-run notebook).
out_info = probe(str(row["output_uri"]), isolate=False)
n = min(src_info.num_frames, out_info.num_frames, max_frames)
before = read_frames(src_info.url, 0, n, src_info)
after = read_frames(str(row["output_uri"]), 0, n, out_info)
print(f"{video_id}: {src_info.width}x{src_info.height} -> {out_info.width}x{out_info.height}, "
      f"{out_info.num_frames} frames (showing {n})")
show_png(frame_strip({"before": before, "after": after}, plots_dir / f"{video_id}_strip.png"))

# COMMAND ----------

# MAGIC %md ## 3. Per-frame scores with the segment joins marked
# MAGIC
# MAGIC The video's scores are recomputed here by the function the stitcher uses to write them
# MAGIC (`seedvr.quality.video`: the decoded output against the decoded source, at the same frames), so the
# MAGIC table below must show the same numbers twice. The curves are the per-frame values behind them; the
# MAGIC seam scores are the stitcher's (measured on the blended frames as they were encoded).

# COMMAND ----------

import pandas as pd  # noqa: E402

from seedvr.quality.video import score_video_clip, video_scores  # noqa: E402

segments = (tables.segments.read(spark)
            .filter((F.col("video_id") == video_id) & (F.col("config_hash") == str(row["config_hash"])))
            .select("segment_index", "window_start", "first_output", "last_output", "status", "device",
                    "worker", "total_s", "run_id")
            .toPandas().sort_values("segment_index"))
joins = [int(f) for i, f in zip(segments["segment_index"], segments["first_output"], strict=True)
         if i > 0 and 0 < f < out_info.num_frames]
# The source was probed by the job; decoded in-process (a sandboxed child would re-run a script-run notebook).
# Shots start where a segment has no context: no temporal score across those cuts, as in the stitcher.
cuts = [int(f) for i, w, f in zip(segments["segment_index"], segments["window_start"], segments["first_output"],
                                  strict=True) if i > 0 and w == f]
clip = score_video_clip(src_info, str(row["output_uri"]), isolate=False, cuts=cuts)
recomputed = video_scores(clip)
stored = dict(row["scores"] or {})
agreement = pd.DataFrame([{"score": k, "restorations table": stored.get(k), "recomputed here": v}
                          for k, v in sorted(recomputed.items())])
show(agreement, limit=len(agreement))
curves = {k: v for k, v in clip.curves.items() if v}
show_png(score_curves(curves, plots_dir / f"{video_id}_scores.png", joins=joins,
                      title=f"{video_id} ({row['preset']}), joins at {joins}"))
seams = {k: round(v, 3) for k, v in stored.items() if k.startswith("seam_")}
if seams:
    print("seam scores (1 = like the frames around it):", seams)

# COMMAND ----------

# MAGIC %md ## 4. Provenance of this output

# COMMAND ----------

fields = ["video_id", "uri", "output_uri", "output_sha256", "preset", "config_hash", "file_version", "run_id",
          "job_id", "job_run_id", "code_version", "weights_sha256", "engine", "device_type", "started_at",
          "finished_at", "num_segments", "segments_ok"]
provenance = pd.DataFrame({"field": fields, "value": [row.get(f) for f in fields]})
show(provenance, limit=len(fields))
show(segments, limit=len(segments))
# What the source really holds (shots, scan type, bars, pixel shape) and what was done about it.
found = json.loads(row["analysis_json"]) if isinstance(row.get("analysis_json"), str) else None
applied = json.loads(row["archive_applied"]) if isinstance(row.get("archive_applied"), str) else []
if found:
    bars = {k: v for k, v in found["active"].items() if k in ("top", "bottom", "left", "right") and v}
    archive = pd.DataFrame({"field": ["scan type", "field order", "flagged as", "shot cuts", "bars", "pixel shape",
                                      "analysers", "applied"],
                            "value": [found["scan"]["kind"], found["scan"]["field_order"], found["scan"]["flagged"],
                                      found["cuts"], bars or "none", found["pixels"]["sar"],
                                      "; ".join(f"{k}: {v}" for k, v in found["analysers"].items()),
                                      "; ".join(applied) or "nothing: restored as stored"]})
    show(archive, limit=len(archive))
devices = sorted({str(d) for d in segments["device"].dropna()})
print(f"{len(segments)} segment(s) on {', '.join(devices) or 'unknown devices'}; "
      f"restore time {np.nansum(segments['total_s'].astype(float)):.1f} s in all")

# COMMAND ----------

# MAGIC %md ## 5. What the file says about itself
# MAGIC The signed C2PA manifest inside the output (or its `.c2pa` sidecar), read back from the file and
# MAGIC validated against its bytes, as `seedvr-verify` does; the row records its label and digest.

# COMMAND ----------

from seedvr.provenance.verify import verify  # noqa: E402

if row.get("disclosed"):
    checked = verify(row["output_uri"])
    disclosure = pd.DataFrame({"field": ["recorded", "manifest label (row)", "manifest label (file)", "verifies",
                                         "signer"],
                               "value": [row.get("disclosure"), row.get("manifest_label"), checked.label,
                                         checked.ok, row.get("disclosure_signer")]})
    show(disclosure, limit=len(disclosure))
    print("\n".join(checked.lines()))
else:
    checked = None
    print(f"no signed provenance in this output (disclosure: {row.get('disclosure') or 'not recorded'})")

# COMMAND ----------

engine.stop()  # stops only an engine this notebook started (never the Databricks session)
