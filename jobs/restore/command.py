"""`seedvr-restore`: restore selected catalog videos segment by segment and record what was done."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from jobs.cli import EXIT_OK, add_model_flags, base_parser, config_from_args, run_main
from jobs.engine import session
from jobs.restore.pipeline import run_restore
from jobs.restore.selection import make_selection
from jobs.restore.summary import print_summary
from seedvr.cli.flags import add_archive_flags


def build_parser() -> argparse.ArgumentParser:
    p = base_parser("seedvr-restore", "Restore catalog videos with SeedVR on Spark: plan segments, restore "
                                      "them on GPU executors, stitch, record provenance and scores in Delta "
                                      "and MLflow. Resumable: a rerun skips what is done.")
    g = p.add_argument_group("selection (criteria are ANDed; default: all pending videos)")
    g.add_argument("--predicate", help="SQL boolean expression over the catalog columns, validated up front")
    g.add_argument("--ids", help="comma-separated video ids")
    g.add_argument("--date-from", help="first added_date to include (YYYY-MM-DD)")
    g.add_argument("--date-to", help="last added_date to include (YYYY-MM-DD)")
    g.add_argument("--content-class", help="only videos of this content class (e.g. archive, ai_generated)")
    g.add_argument("--limit", type=int, help="at most this many videos (by id order)")
    g.add_argument("--force", action="store_true",
                   help="also take videos already restored for this config (segments done are still reused)")
    add_model_flags(p)
    add_archive_flags(p, from_profile=True)
    g = p.add_argument_group("output")
    g.add_argument("--no-mlflow", action="store_true", help="do not log an MLflow run")
    g.add_argument("--keep-intermediates", action="store_true",
                   help="keep the segment files after each video's output is committed (default: delete them)")
    g.add_argument("--no-progress", action="store_true",
                   help="no progress output (default: bars on a terminal; elsewhere a line per change, at "
                        "most every SEEDVR_PROGRESS_INTERVAL_S seconds, default 15)")
    g.add_argument("--progress", action="store_true", help=argparse.SUPPRESS)  # the default now
    g.add_argument("--dry-run", action="store_true",
                   help="select and plan, then print what would be restored (videos, segments, output sizes, "
                        "scratch space, model memory) without restoring or writing anything")
    return p


def _main(args: argparse.Namespace) -> int:
    if args.keep_intermediates:
        args.overrides = [*args.overrides, "storage.keep_intermediates=true"]
    args.overrides = [*args.overrides, *archive_overrides(args)]
    cfg = config_from_args(args)
    sel = make_selection(predicate=args.predicate, ids=args.ids, date_from=args.date_from, date_to=args.date_to,
                         content_class=args.content_class, force=args.force, limit=args.limit)
    with session(cfg.engine, profile=cfg.profile) as eng:
        rep = run_restore(eng.spark, cfg, sel, engine=eng.name, run_id=args.run_id or None,
                          job_id=args.job_id or None, job_run_id=args.job_run_id or None,
                          show_progress=not args.no_progress, track=False if args.no_mlflow or args.dry_run
                          else None, log=lambda m: print(m, flush=True), dry_run=args.dry_run)
    if rep.dry_run is not None:
        print("\n".join(rep.dry_run.lines()))
        return EXIT_OK
    print_summary(cfg, rep)
    return EXIT_OK


def archive_overrides(args: argparse.Namespace) -> list[str]:
    """The archive flags as `prepare.*` overrides (a flag left out keeps the profile's value)."""
    out = [] if args.archive is None else [f"prepare.enabled={'true' if args.archive == 'auto' else 'false'}"]
    return out + [f"prepare.{k}={getattr(args, k)}" for k in ("deinterlace", "telecine", "bars", "pixels")
                  if getattr(args, k) is not None]


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_main, build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
