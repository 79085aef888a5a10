"""`seedvr-ingest`: register the videos under a folder or bucket prefix in the catalog table."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from jobs.catalog.register import IngestReport, ingest, load_manifest
from jobs.cli import EXIT_OK, base_parser, config_from_args, run_main
from jobs.engine import session
from jobs.provenance import code_version, new_run_id
from jobs.tables import ensure_tables, table_refs
from seedvr.errors import ConfigError


def build_parser() -> argparse.ArgumentParser:
    p = base_parser("seedvr-ingest", "Register videos (folder or bucket prefix) in the catalog table and "
                                     "probe them in parallel. Idempotent; changed files are re-probed and "
                                     "their restorations marked stale.")
    g = p.add_argument_group("ingest")
    g.add_argument("--source", help="folder or URL prefix to scan (default: ingest.source of the profile)")
    g.add_argument("--content-class", help="content class recorded for new videos (default: ingest.content_class)")
    g.add_argument("--manifest", help="JSON list of rows with path/uri and optional video_id, content_class")
    g.add_argument("--no-mlflow", action="store_true", help="do not log an MLflow run of the ingest")
    return p


MAX_SKIPPED_SHOWN = 20


def _main(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    source = args.source or cfg.ingest.source
    if not source:
        raise ConfigError("nothing to ingest: pass --source <folder or s3://bucket/prefix> or set ingest.source")
    manifest = load_manifest(args.manifest) if args.manifest else []
    run_id = args.run_id or new_run_id()
    with session(cfg.engine, profile=cfg.profile) as eng:
        tables = table_refs(cfg.tables)
        ensure_tables(eng.spark, tables)
        rep = ingest(eng.spark, cfg, tables, source=source, run_id=run_id, content_class=args.content_class or None,
                     manifest=manifest, user_metadata={"engine": eng.name, "code_version": code_version(),
                                                       "job_id": args.job_id, "job_run_id": args.job_run_id})
    for uri, why in rep.skipped[:MAX_SKIPPED_SHOWN]:
        print(f"skipped {uri}: {why}")
    if len(rep.skipped) > MAX_SKIPPED_SHOWN:
        print(f"... and {len(rep.skipped) - MAX_SKIPPED_SHOWN} more skipped files"
              + (" (all are listed in the MLflow run)" if cfg.tracking.enabled else ""))
    if rep.listed == 0:  # an empty folder or a wrong prefix: not an error (exit 0), but never silent
        print(nothing_found_line(run_id, source, cfg.ingest.extensions, rep, args.manifest))
        return EXIT_OK
    mlflow_note = ""
    if cfg.tracking.enabled and not args.no_mlflow:
        from jobs.tracking import log_ingest_run

        mlflow_note = f"; mlflow run {log_ingest_run(cfg, rep, source)}"
    print(f"ingest {run_id}: listed {rep.listed}, new {rep.new}, changed {rep.changed}, unchanged {rep.unchanged}, "
          f"probed ok {rep.probed_ok}, probe failed {rep.probed_failed}, skipped {len(rep.skipped)}"
          + (f", analysed again {rep.analysed_again}" if rep.analysed_again else "")
          + f"; catalog: {tables.videos.label}{mlflow_note}")
    return EXIT_OK


def nothing_found_line(run_id: str, source: str, extensions: Sequence[str], rep: IngestReport,
                       manifest: str | None) -> str:
    """One line saying that nothing was registered, why, and how to include other files."""
    others = f"; {len(rep.skipped)} other files skipped" if rep.skipped else ""
    if manifest:
        return (f"ingest {run_id}: none of the files named in the manifest {manifest} was found under {source}"
                f"{others}; nothing registered")
    return (f"ingest {run_id}: no video files found under {source} (looked for {' '.join(extensions)}){others}; "
            "nothing registered. To include other extensions, list them in ingest.extensions of the profile "
            "(or --set 'ingest.extensions=[.mp4,.abc]', which replaces the list)")


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_main, build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
