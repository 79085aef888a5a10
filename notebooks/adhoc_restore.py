# Databricks notebook source
# MAGIC %md
# MAGIC # Ad-hoc restore
# MAGIC
# MAGIC Restores the catalog rows you select, with the restore job's own functions and this notebook's
# MAGIC Spark session. Select rows with a SQL `predicate` over the `videos` table (for example
# MAGIC `content_class = 'film' AND duration_s < 60`) or a comma-separated list of `ids`; pick a `preset`.
# MAGIC Videos already restored with the same model and config are skipped.
# MAGIC
# MAGIC The inputs are checked before any GPU time is spent: an invalid predicate, an empty selection or a
# MAGIC preset too large for the cluster's GPUs stops here with a message.
# MAGIC
# MAGIC * On Databricks: run it as the `restore_adhoc` job of the bundle, or on a GPU cluster with the
# MAGIC   project's wheel installed (`%pip install <wheel>`). The widgets are the job's parameters.
# MAGIC * Locally: `python notebooks/adhoc_restore.py` runs on the embedded engine; widgets read
# MAGIC   `SEEDVR_WIDGET_<NAME>` environment variables, else their defaults.

# COMMAND ----------

import os
import sys
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
widget, show = nb.widget, nb.show

# COMMAND ----------

# MAGIC %md ## Parameters

# COMMAND ----------

profile = widget("profile", "databricks_dev" if on_databricks else "local", "job profile (conf/<name>.yaml)")
catalog = widget("catalog", "", "catalog (empty: the profile's tables)")
schema = widget("schema", "", "schema")
predicate = widget("predicate", "", "SQL predicate over videos")
ids = widget("ids", "", "video ids, comma-separated")
preset = widget("preset", "", "preset (empty: the profile's)")
weights_root = widget("weights_root", "", "weights folder")
output_root = widget("output_root", "", "output root")
gpu_slots = widget("gpu_slots", "", "GPU slots (partitions of the restore stage)")
node_type = widget("node_type", "", "GPU node type (empty: this cluster's)")
job_id = widget("job_id", "", "job id (provenance; set by the job)")
job_run_id = widget("job_run_id", "", "job run id (provenance; set by the job)")

# COMMAND ----------

# MAGIC %md ## Configuration and session

# COMMAND ----------

from jobs.config import load_config  # noqa: E402
from jobs.engine import get_engine  # noqa: E402
from seedvr.errors import ConfigError  # noqa: E402

overrides: dict[str, Any] = {}
if catalog or schema:
    overrides["tables"] = {"root": None, "catalog": catalog or None, "schema": schema or None}
if preset or weights_root:
    overrides["model"] = {k: v for k, v in (("preset", preset), ("weights", weights_root)) if v}
if output_root:
    overrides["storage"] = {"output_root": output_root}
if gpu_slots:
    overrides["execution"] = {"gpu_slots": int(gpu_slots)}
cfg = load_config(profile, overrides)

# Databricks (and the tests) provide `spark`; a laptop starts the profile's engine.
engine = get_engine(cfg.engine, globals().get("spark"))
spark = engine.spark
print(f"profile {cfg.profile}, engine {engine.name}, preset {cfg.model.preset}, output {cfg.storage.output_root}")

# COMMAND ----------

# MAGIC %md ## Check the inputs before any GPU time is spent

# COMMAND ----------

from jobs.databricks import sizing  # noqa: E402
from jobs.restore.selection import apply_selection, make_selection, validate_predicate  # noqa: E402
from jobs.tables import table_refs  # noqa: E402

if not predicate and not ids:
    raise ConfigError("set the 'predicate' or the 'ids' widget: an ad-hoc run restores selected rows only "
                      "(the nightly job restores everything pending)")
if node_type:
    sizing.check_preset_fits(cfg.model.preset, node_type)
else:
    sizing.check_session_fits(spark, cfg.model.preset)  # the attached cluster's node type, on Databricks
tables = table_refs(cfg.tables)
if predicate:
    validate_predicate(spark, tables.videos, predicate)
selection = make_selection(predicate=predicate, ids=ids)
selected = apply_selection(spark, tables.videos.read(spark), selection)
n_selected = selected.count()
if n_selected == 0:
    raise ConfigError(f"the selection matches no video in {tables.videos.label}: {selection.describe()}")
print(f"{n_selected} video(s) match: {selection.describe()}")
show(selected.select("video_id", "uri", "content_class", "added_date", "num_frames", "width", "height"))

# COMMAND ----------

# MAGIC %md ## Restore

# COMMAND ----------

from jobs.restore.pipeline import run_restore  # noqa: E402

report = run_restore(spark, cfg, selection, engine=engine.name, job_id=job_id or None,
                     job_run_id=job_run_id or None, log=print)
print(f"run {report.run_id}: {report.videos_ok} video(s) restored, {report.videos_failed} failed, "
      f"{report.restored_segments} segment(s) restored, {report.skipped_segments} already done")
if len(report.restorations):
    show(report.restorations[["video_id", "status", "output_uri", "error_class", "error_message"]])

# COMMAND ----------

engine.stop()  # stops only an engine this notebook started (never the Databricks session)
