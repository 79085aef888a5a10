"""Shared command-line flags: profile, overrides, tables, model, storage, engine, provenance ids.

Databricks python_wheel_tasks pass `--flag={{job.parameters.x}}`, which arrives as an empty string when the
parameter is unset; every flag treats an empty value as "not given".
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from jobs.config import JobConfig, deep_merge, load_config, parse_set, set_path
from seedvr.errors import ConfigError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130
INTERRUPTED_LINE = "interrupted: finished segments and videos are kept; run the same command to resume"

EPILOG = """\
exit codes: 0 done (also when the selection matched nothing, or some videos failed: see the
restorations table); 1 unexpected error; 130 interrupted (Ctrl-C); 2 bad configuration, arguments, predicate, table schema,
or a run aborted because every segment of the first wave failed for a configuration cause.
"""


def base_parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("configuration")
    g.add_argument("--profile", help="job profile: a name in conf/ (local, s3_example, databricks_dev, "
                                     "databricks_prod) or a path to a YAML file (default: local)")
    g.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config key, e.g. --set execution.wave_segments=16 (repeatable)")
    g = p.add_argument_group("tables")
    g.add_argument("--catalog", help="Unity Catalog catalog: tables become <catalog>.<schema>.<name>")
    g.add_argument("--schema", help="schema (database) of the tables")
    g.add_argument("--tables-root", help="folder/URL for path-based Delta tables (when no catalog/schema)")
    g = p.add_argument_group("engine")
    g.add_argument("--engine", choices=["sail", "active", "connect"],
                   help="sail: embedded, started and stopped by the job; active: the running SparkSession "
                        "(Databricks); connect: a Spark Connect server at --connect-url")
    g.add_argument("--connect-url", help="sc://host:port for --engine connect")
    g = p.add_argument_group("storage")
    g.add_argument("--output-root", help="fsspec URL for segment intermediates and restored videos")
    g.add_argument("--work-dir", help="local folder for MLflow (sqlite) and scratch files")
    g = p.add_argument_group("provenance")
    g.add_argument("--run-id", help="run id to record (default: a new uuid)")
    g.add_argument("--job-id", help="Databricks job id ({{job.id}}), recorded as provenance")
    g.add_argument("--job-run-id", help="Databricks job run id ({{job.run_id}}), recorded as provenance")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def add_model_flags(p: argparse.ArgumentParser) -> None:
    """seedvr-clip's model, output-size and segment flags (same names, help and defaults), plus the job's
    own; every one is optional and wins over the profile and `--set`."""
    from seedvr.cli.flags import add_model_flags as add_shared

    groups = add_shared(p, from_profile=True)
    g = groups["model"]
    g.description = ("the defaults named are seedvr.defaults' (as seedvr-clip's); the profile may set\n"
                     "others (demo: tiny-v2), and a flag given wins over the profile and --set")
    g.add_argument("--weights-sha256", help="known sha256 of --weights (else identified by size/etag/mtime)")
    g.add_argument("--gpu-slots", help="partitions of the restore stage = GPUs x tasks per GPU")


def _nz(v: Any) -> Any:
    return None if v is None or (isinstance(v, str) and not v.strip()) else v


def _number(flag: str, value: Any, kind: type = int) -> Any:
    """A flag's text as an int (or float), or a one-line ConfigError naming the flag."""
    value = _nz(value)
    if value is None or isinstance(value, kind):
        return value
    try:
        return kind(str(value).strip())
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{flag} {value!r} is not {what}") from None


def _model_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The model, size and segment flags that were given, checked by seedvr.defaults, as config paths."""
    from seedvr import defaults
    from seedvr.checkpoints.presets import get_preset

    out: dict[str, Any] = {}
    preset = _nz(getattr(args, "preset", None))
    if preset is not None:
        get_preset(preset)  # unknown names fail here, with a "did you mean"
        out["model.preset"] = preset
    dtype = _nz(getattr(args, "dtype", None))
    if dtype is not None:
        defaults.normalize_dtype(dtype)
        out["model.dtype"] = dtype  # "auto" too: it replaces a dtype the profile sets
    for flag, attr, path, choices in (("--attention", "attention", "model.attention", defaults.ATTENTIONS),
                                      ("--color-fix", "color_fix", "model.colour_fix", defaults.COLOR_FIXES),
                                      ("--compile", "compile", "model.compile", defaults.COMPILES),
                                      ("--fp8", "fp8", "model.fp8", defaults.FP8_MODES)):
        value = _nz(getattr(args, attr, None))
        if value is not None:
            defaults.check_choice(flag, value, choices)
            out[path] = value
    tile = _nz(getattr(args, "vae_tile", None))
    if tile is not None:
        out["model.vae_tile"] = defaults.parse_vae_tile(tile)
    size = {"resolution": _nz(getattr(args, "resolution", None)),
            "short_side": _number("--short-side", getattr(args, "short_side", None)),
            "scale": _number("--scale", getattr(args, "scale", None), float)}
    if any(v is not None for v in size.values()):
        mode, value, multiple = defaults.target_spec(**size)
        out["model.target"] = {"mode": mode, "value": value, "multiple": multiple}
    for flag, path in (("--seed", "model.seed"), ("--segment-frames", "segments.segment_frames"),
                       ("--context-frames", "segments.context_frames"), ("--gpu-slots", "execution.gpu_slots")):
        out[path] = _number(flag, getattr(args, flag[2:].replace("-", "_"), None))
    for attr, path in (("weights", "model.weights"), ("weights_sha256", "model.weights_sha256"),
                       ("device", "model.device")):
        out[path] = _nz(getattr(args, attr, None))
    seg, ctx = out.get("segments.segment_frames"), out.get("segments.context_frames")
    if seg is not None or ctx is not None:  # the pair is checked again with the profile's values
        from seedvr.video.plan import validate_plan_params

        validate_plan_params(1, seg if seg is not None else 1 + 4 * max(ctx or 0, 0), max(ctx or 0, 0))
        if ctx is not None and ctx < 0:
            raise ConfigError(f"--context-frames {ctx} must be 0 or more")
    return {k: v for k, v in out.items() if v is not None}


def config_from_args(args: argparse.Namespace) -> JobConfig:
    """Profile <- --set overrides <- dedicated flags (flags win). A bad flag value is a one-line
    ConfigError naming the flag, raised before the profile is read."""
    over = parse_set(args.overrides)
    flags: dict[str, Any] = {}

    def put(path: str, value: Any) -> None:
        value = _nz(value)
        if value is not None:
            set_path(flags, path, value)

    put("tables.catalog", getattr(args, "catalog", None))
    put("tables.schema", getattr(args, "schema", None))
    put("tables.root", getattr(args, "tables_root", None))
    put("engine.kind", getattr(args, "engine", None))
    put("engine.url", getattr(args, "connect_url", None))
    put("storage.output_root", getattr(args, "output_root", None))
    put("storage.work_dir", getattr(args, "work_dir", None))
    for path, value in _model_flags(args).items():
        put(path, value)
    return load_config(_nz(args.profile), deep_merge(over, flags))


def run_main(fn: Callable[[argparse.Namespace], int], parser: argparse.ArgumentParser,
             argv: Sequence[str] | None) -> int:
    """Parse, run, map errors to exit codes with one clear line on stderr."""
    args = parser.parse_args(argv)
    # The embedded engine logs through RUST_LOG, read when its server starts: its INFO/WARN lines
    # (sessions, "aborting N task(s)") are engine chatter unless the user asks for it.
    os.environ.setdefault("RUST_LOG", "info" if args.verbose else "error")
    # MLflow logs its database migrations at INFO on first use: engine chatter, shown only with --verbose.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "INFO" if args.verbose else "WARNING")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from jobs.interrupts import run_interruptible

    return run_interruptible(lambda: _run_mapped(fn, args), message=INTERRUPTED_LINE, code=EXIT_INTERRUPTED)


def _run_mapped(fn: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return fn(args)
    except ConfigError as exc:
        return _fail(f"error: {exc}", EXIT_CONFIG, args.verbose)
    except KeyboardInterrupt:
        return _fail(INTERRUPTED_LINE, EXIT_INTERRUPTED, args.verbose)
    except Exception as exc:  # noqa: BLE001 - one line for the user, the traceback with --verbose
        from seedvr.errors import SeedVRError, first_line

        if isinstance(exc, SeedVRError) and exc.error_class in ("config", "checkpoint"):
            return _fail(f"error: {exc}", EXIT_CONFIG, args.verbose)
        if isinstance(exc, SeedVRError):
            return _fail(f"error: {exc}", EXIT_FAILED, args.verbose)
        return _fail(f"error: unexpected {first_line(exc)} (run again with --verbose for the traceback)",
                     EXIT_FAILED, args.verbose)


def _fail(line: str, code: int, verbose: bool) -> int:
    if verbose:
        import traceback

        traceback.print_exc()
    print(line, file=sys.stderr)
    return code
