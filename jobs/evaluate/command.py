"""`seedvr-evaluate`: restore paired clips with one or more presets, score them, compare side by side.

Inputs: LQ/HQ folders matched by file name (`--lq`, `--hq`), a catalog file (`--catalog`, JSON rows with
`path`/`uri` and `hq_path`/`hq_uri`), or freshly generated sample clips (`--samples N`). Outputs: a
Markdown and CSV report with plots, one Delta table row per (run, video, preset), and one MLflow run.

    seedvr-evaluate --samples 3 --preset identity --preset tiny-v2
    seedvr-evaluate --lq data/lq --hq data/hq --preset seedvr2-3b --weights seedvr2-3b=/models/seedvr2_3b
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from jobs.config import JobConfig, load_config, parse_set
from jobs.evaluate.core import EvalSettings, evaluate_pair, summarize
from jobs.evaluate.pairs import EvalPair, pairs_from_catalog_file, pairs_from_folders, pairs_from_rows
from jobs.evaluate.report import markdown, plots, rows_frame
from jobs.provenance import code_version, new_run_id
from seedvr.errors import ConfigError, SeedVRError
from seedvr.quality import FrameSampler, ScoreConfig
from seedvr.restorer import Restorer, load_restorer


def _pairs_kv(items: Sequence[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"{flag} expects NAME=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def parse_preset(spec: str) -> tuple[str, dict[str, Any]]:
    """`name` or `name:key=value,key=value` (values parsed as YAML) -> (name, keyword overrides)."""
    name, _, rest = spec.partition(":")
    kwargs: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        if "=" not in item:
            raise ConfigError(f"--preset {spec!r}: options are key=value pairs, got {item!r}")
        k, v = item.split("=", 1)
        kwargs[k.strip()] = yaml.safe_load(v)
    if not name:
        raise ConfigError(f"--preset {spec!r} has no preset name")
    return name, kwargs


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seedvr-evaluate", description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--lq", help="folder of low-quality clips")
    src.add_argument("--catalog", help="JSON catalog file (rows with path/uri and hq_path/hq_uri)")
    src.add_argument("--samples", type=int, help="generate N sample clips (with ground truth) and evaluate them")
    p.add_argument("--hq", help="folder of ground-truth clips, matched to --lq by file name")
    p.add_argument("--preset", action="append", default=[], help="preset[:key=value,...]; repeat to compare")
    p.add_argument("--weights", action="append", default=[], help="PRESET=PATH_OR_URL of its weights")
    p.add_argument("--frames", type=int, default=0, help="evaluate only the first N frames of each clip")
    p.add_argument("--segment-frames", type=int, default=0, help="restore in segments of N frames (4n+1)")
    p.add_argument("--context-frames", type=int, default=0, help="context frames per segment")
    p.add_argument("--blend", default="linear", choices=("linear", "hann", "none"))
    p.add_argument("--scale", type=float, default=2.0, help="upscale factor for clips without a reference")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-frames", type=int, default=32, help="frames scored per clip (0: all)")
    p.add_argument("--stride", type=int, default=1, help="score every N-th frame")
    p.add_argument("--flow-preset", default="fast", choices=("ultrafast", "fast", "medium"))
    p.add_argument("--metric", action="append", default=[], help="optional metric (lpips, dists, ...)")
    p.add_argument("--metric-weights", action="append", default=[], help="METRIC=local weight path(s)")
    p.add_argument("--out", help="report folder (default <work_dir>/evaluations/<run id>)")
    p.add_argument("--table", help="Delta table path or catalog name (default <tables root>/evaluations)")
    p.add_argument("--no-delta", action="store_true")
    p.add_argument("--no-mlflow", action="store_true")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--plot-videos", type=int, default=4)
    p.add_argument("--experiment", default="seedvr-evaluate")
    p.add_argument("--profile", default=None, help="conf/<profile>.yaml (default: local)")
    p.add_argument("--set", action="append", default=[], dest="overrides", help="config key.path=value")
    return p


def _table_ref(cfg: JobConfig, explicit: str | None):  # noqa: ANN202 - TableRef needs pyspark at import
    from jobs.tables import TableRef

    if explicit:
        return TableRef("evaluations", path=explicit) if ("/" in explicit or "://" in explicit) else \
            TableRef("evaluations", name=explicit)
    t = cfg.tables
    if t.catalog or t.schema_:
        return TableRef("evaluations", name=".".join(p for p in (t.catalog, t.schema_, "evaluations") if p))
    root = t.root or "./var/local/tables"
    if "://" not in root:
        root = str(Path(root).resolve())
    return TableRef("evaluations", path=f"{root.rstrip('/')}/evaluations")


def _info_json(restorer: Restorer) -> str:
    """The restorer's provenance with URLs stripped of credentials and query strings."""
    from jobs.tracking import scrub_url

    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        return scrub_url(v) if isinstance(v, str) else v

    return json.dumps(clean(dict(restorer.info)), default=str, sort_keys=True)


def _pairs(args: argparse.Namespace, out_dir: Path) -> list[EvalPair]:
    if args.samples is not None:
        from seedvr.synthetic import make_sample_catalog

        return pairs_from_rows(make_sample_catalog(out_dir / "samples", clips=args.samples, audio=False))
    if args.catalog:
        return pairs_from_catalog_file(args.catalog)
    return pairs_from_folders(args.lq, args.hq)


def main(argv: Sequence[str] | None = None, *, spark: Any = None) -> int:
    """Run an evaluation; returns 0 when at least one clip was scored, 1 when every restore failed."""
    args = build_parser().parse_args(argv)
    try:
        return _run(args, spark)
    except SeedVRError as exc:
        print(f"seedvr-evaluate: {exc.error_class}: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, spark: Any) -> int:
    cfg = load_config(args.profile, parse_set(args.overrides))
    run_id = new_run_id()
    out_dir = Path(args.out or Path(cfg.storage.work_dir) / "evaluations" / run_id).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.hq and not args.lq:
        raise ConfigError("--hq needs --lq")

    # 1. restorers, one per --preset (identity when none is given)
    weights = _pairs_kv(args.weights, "--weights")
    restorers: dict[str, Restorer] = {}
    for spec in args.preset or ["identity"]:
        name, kwargs = parse_preset(spec)
        restorers[spec] = load_restorer(name, weights.get(name), **kwargs)

    # 2. restore and score every pair
    score = ScoreConfig(
        sampler=FrameSampler(max_frames=args.max_frames, stride=args.stride),
        flow_preset=args.flow_preset,
        optional=tuple(args.metric),
        weights=tuple(_pairs_kv(args.metric_weights, "--metric-weights").items()),
    )
    settings = EvalSettings(score=score, seed=args.seed, frames=args.frames, segment_frames=args.segment_frames,
                            context_frames=args.context_frames, blend=args.blend, scale=args.scale)
    pairs = _pairs(args, out_dir)
    outcomes, rows = [], []
    for i, pair in enumerate(pairs):
        oc = evaluate_pair(pair, restorers, settings, keep_frames=not args.no_plots and i < args.plot_videos)
        outcomes.append((pair.video_id, oc))
        rows += [r.row for r in oc.results]
        for r in oc.results:
            status = r.row.get("error_class") or (
                f"psnr {r.row['psnr_mean']:.2f} dB" if "psnr_mean" in r.row else "scored (no reference)")
            print(f"{pair.video_id} [{r.row['preset']}]: {status}")
    summary = summarize(rows)

    # 3. report: CSV, plots, Markdown
    params = {"run_id": run_id, "pairs": len(pairs), "presets": ", ".join(restorers), "seed": args.seed,
              "frames": args.frames or "all", "segment_frames": args.segment_frames,
              "context_frames": args.context_frames, "max_frames": args.max_frames, "stride": args.stride,
              "flow_preset": args.flow_preset, "metrics": ", ".join(args.metric) or "-",
              "code_version": code_version()}
    rows_frame(rows).to_csv(out_dir / "evaluation.csv", index=False)
    images = [] if args.no_plots else plots(outcomes, rows, out_dir / "plots", max_videos=args.plot_videos)
    (out_dir / "evaluation.md").write_text(
        markdown(rows, summary, title="SeedVR evaluation", params=params, images=images, base=out_dir),
        encoding="utf-8",
    )
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True), encoding="utf-8")

    # 4. MLflow (driver only), then Delta with the run id
    mlflow_run_id = None
    if not args.no_mlflow and cfg.tracking.enabled:
        from jobs.evaluate.sinks import log_mlflow
        from jobs.tracking import scrub_url, tracking_uri

        uri = tracking_uri(cfg)
        mlflow_run_id = log_mlflow(cfg, experiment=args.experiment, run_name=f"evaluate-{run_id[:8]}",
                                   params=params, summary=summary, report_dir=out_dir, rows=rows,
                                   tags={"seedvr.job": "evaluate", "seedvr.run_id": run_id})
        print(f"MLflow run {mlflow_run_id} ({scrub_url(uri)})")
    if not args.no_delta:
        from jobs.engine import session
        from jobs.evaluate.sinks import table_rows, write_delta

        ref = _table_ref(cfg, args.table)
        infos = {spec: _info_json(r) for spec, r in restorers.items()}
        with session(cfg.engine, spark) as eng:
            trows = table_rows(rows, eval_run_id=run_id, extra={
                "code_version": code_version(), "engine": eng.name, "mlflow_run_id": mlflow_run_id,
                "settings": json.dumps(params, default=str, sort_keys=True)})
            for tr in trows:
                tr["restorer_info"] = infos.get(tr["preset"])
            write_delta(eng.spark, ref, trows)
        print(f"Delta table {ref.label}: {len(trows)} rows")
    print(f"report: {out_dir / 'evaluation.md'}")
    return 0 if any(not r.get("error_class") for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
