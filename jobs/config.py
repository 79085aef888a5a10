"""Typed job configuration: conf/<profile>.yaml (yaml.safe_load) + `--set key.path=value` overrides.

Every profile is a partial document over the defaults below; `extends: <profile>` layers one profile on
another (databricks-prod extends databricks-dev, say). Unknown keys are rejected with the key's path, so a
typo in a profile fails at start-up instead of silently running with a default. Credentials never live
here: object-store keys come from the environment (AWS_* / instance profiles / Databricks secrets).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from seedvr import defaults
from seedvr.errors import ConfigError

CONF_DIR_ENV = "SEEDVR_CONF_DIR"
DEFAULT_PROFILE = "local"
# Bumped when the meaning of a hashed field changes, so old results are not reused by mistake.
CONFIG_HASH_VERSION = 1


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EngineConfig(_Frozen):
    """Where the SparkSession comes from. One code path for all three kinds."""

    kind: Literal["sail", "active", "connect"] = "sail"
    # sc://host:port for kind=connect.
    url: str | None = None
    # Environment for the embedded Sail server (read when the server is constructed). Sail ignores
    # spark.sql.execution.arrow.maxRecordsPerBatch: its BATCH_SIZE is every operator's batch, the UDFs'
    # too. Rows carry metadata only, but a video's info_json holds every frame's timestamp (about 1.2 MB
    # for a 2-hour film, on each of its segments' rows), so batches stay small: 16 rows. One row a batch
    # cost the job's every operator a batch per row: 35-48 vs 28-32 CPU-ms per segment (bench_job).
    sail_env: dict[str, str] = Field(
        default_factory=lambda: {
            "SAIL_EXECUTION__BATCH_SIZE": "16",
            "SAIL_EXECUTION__DEFAULT_PARALLELISM": "2",
        }
    )
    # Spark confs set on the session (honoured by Databricks/Spark; Sail accepts and ignores most).
    spark_conf: dict[str, str] = Field(
        default_factory=lambda: {"spark.sql.execution.arrow.maxRecordsPerBatch": "1"}
    )


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def absolute_local(url: str | None) -> str | None:
    """A local path made absolute (from the working directory, `~` expanded); URLs (s3://, dbfs:/...) as
    they are. Tables record these values: a relative path means nothing outside the folder a job ran in."""
    if not url or _SCHEME.match(url):
        return url
    return os.path.abspath(os.path.expanduser(url))


class TablesConfig(_Frozen):
    """Delta tables: path-based under `root`, or catalog-qualified `catalog.schema.name`."""

    root: str | None = "./var/local/tables"
    catalog: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    videos: str = "videos"
    segment_plan: str = "segment_plan"
    segment_staging: str = "segment_results_staging"
    segments: str = "segment_results"
    restorations: str = "restorations"
    # End-of-run maintenance (jobs/restore/maintenance.py): every wave appends to staging and MERGEs into the
    # results, so small files pile up. A table with at least `compact_min_files` files is compacted, then
    # files unreferenced for `vacuum_retention_hours` are removed (None: no vacuum). Resume reads only the
    # current snapshot, so any retention keeps it working; the week keeps time travel for readers.
    compact: bool = True
    compact_min_files: int = Field(default=16, ge=2)
    vacuum_retention_hours: float | None = Field(default=168.0, ge=0)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    _root = field_validator("root")(classmethod(lambda cls, v: absolute_local(v)))


class StorageConfig(_Frozen):
    """`output_root` holds segment intermediates and final videos (any fsspec URL); `work_dir` is local."""

    output_root: str = "./var/local/outputs"
    work_dir: str = "./var/local"
    # Segment files are deleted once their video's output is committed; keep them to inspect a run.
    keep_intermediates: bool = False
    # Lossless codec of the segment files. A run holds every segment of its videos until they are stitched,
    # so the default is UT Video (1.1 bytes per pixel and frame); rawvideo takes a quarter of its CPU to
    # write and read back but 3 bytes; auto picks rawvideo on local disk and UT Video on object stores and
    # on /dbfs, /Volumes mounts (as seedvr-clip, which holds two segments at a time); ffv1 is the smallest
    # and the slowest. Outputs are the same whichever is used (outside the config hash).
    intermediate_codec: Literal["auto", "rawvideo", "utvideo", "ffv1"] = "utvideo"

    _paths = field_validator("output_root", "work_dir")(classmethod(lambda cls, v: absolute_local(v)))


_DEFAULT_TARGET = defaults.target_spec()


class TargetConfig(_Frozen):
    """Mirrors seedvr.restorer.TargetSize; the default is seedvr.defaults' (720p area, as seedvr-clip)."""

    mode: Literal["area", "short_side", "scale"] = _DEFAULT_TARGET[0]
    value: float = _DEFAULT_TARGET[1]
    # 1 keeps the exact size (odd sides are encoded 4:4:4); 2 rounds each side to even for 4:2:0.
    # When absent: 2 for area and short_side targets, 1 for a scale factor (seedvr.defaults.default_multiple).
    multiple: int = _DEFAULT_TARGET[2]

    @model_validator(mode="before")
    @classmethod
    def _multiple_for_mode(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("multiple") is None:
            data = {**data, "multiple": defaults.default_multiple(data.get("mode", _DEFAULT_TARGET[0]))}
        return data


class ModelConfig(_Frozen):
    """Defaults shared with `seedvr-clip` (seedvr.defaults): the SeedVR2 3B at 720p, seed 666."""

    preset: str = defaults.PRESET
    weights: str | None = None

    _weights = field_validator("weights")(classmethod(lambda cls, v: absolute_local(v)))
    # Known digest of `weights`; when absent the weights identity is the URI plus size and etag/mtime.
    weights_sha256: str | None = None
    # None ("auto"): bfloat16 on GPUs, float32 on CPU.
    dtype: str | None = defaults.DTYPE
    device: str | None = defaults.DEVICE
    attention: Literal["auto", "flash", "sdpa"] = defaults.ATTENTION
    # torch.compile of the DiT and VAE blocks (auto: on with CUDA, off on CPU). Not part of the config hash:
    # compiled output equals eager within the dtype's rounding, like the attention backend, so switching it
    # must neither invalidate finished segments nor give one restoration two identities.
    compile: Literal["auto", "on", "off"] = defaults.COMPILE
    # float8 checkpoints: dequantised at load, or kept fp8 in the DiT's Linear layers (half the weight memory
    # of bf16). Not part of the hash: the weights identity already names the fp8 file, and both modes
    # compute the same dequantised values.
    fp8: Literal["dequantize", "on_the_fly"] = defaults.FP8
    target: TargetConfig = Field(default_factory=TargetConfig)
    seed: int = defaults.SEED
    colour_fix: Literal["wavelet", "adain", "none"] | None = defaults.COLOR_FIX
    # VAE tile edge in px; None: untiled, smaller tiles on out-of-memory. Part of the hash when set.
    vae_tile: int | None = defaults.VAE_TILE
    # Sampler overrides passed through to the restorer (steps, cfg_scale, ...); part of the config hash.
    sampling: dict[str, Any] = Field(default_factory=dict)

    @field_validator("dtype", mode="before")
    @classmethod
    def _dtype_name(cls, v: Any) -> str | None:
        try:
            return defaults.normalize_dtype(v)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("compile", mode="before")
    @classmethod
    def _compile_mode(cls, v: Any) -> Any:
        # YAML reads a bare on / off as a boolean.
        return {True: "on", False: "off"}.get(v, v) if isinstance(v, bool) else v

    @field_validator("vae_tile", mode="before")
    @classmethod
    def _tile(cls, v: Any) -> int | None:
        try:
            return defaults.parse_vae_tile(v)
        except ConfigError as exc:
            raise ValueError(str(exc).removeprefix("--vae-tile ")) from None


class SegmentConfig(_Frozen):
    """Input frames per restorer call (4n+1) and the causal overlap; defaults from seedvr.defaults."""

    segment_frames: int = defaults.SEGMENT_FRAMES
    context_frames: int = defaults.CONTEXT_FRAMES
    # Segments never span a shot cut found by the catalog's analysis (part of the config hash).
    split_at_cuts: bool = True

    @field_validator("segment_frames")
    @classmethod
    def _four_n_plus_one(cls, v: int) -> int:
        if v < 1 or (v - 1) % 4:
            raise ValueError(f"segment_frames must be 4n+1 (5, 9, 21, ...), got {v}")
        return v

    @field_validator("context_frames")
    @classmethod
    def _non_negative(cls, v: int) -> int:
        if v < 0:
            raise ValueError(f"context_frames must be >= 0, got {v}")
        return v


class ExecutionConfig(_Frozen):
    # Explicit partition count of the restore stage (= GPUs x tasks per GPU). Never derived by AQE.
    gpu_slots: int = Field(default=1, ge=1)
    # Tasks allowed on one GPU at a time inside one process (a semaphore per device).
    tasks_per_gpu: int = Field(default=1, ge=1)
    # A wave is restored, staged and merged as one commit, so it is also the work a kill loses. Waves are
    # cut by expected restore time: `wave_minutes` of accelerator work each (the cost of a segment is its
    # window frames x output megapixels x a rate measured from earlier results of the same config, else
    # the preset's estimate; jobs/restore/wave_cost.py), and at most `wave_segments` segments each.
    # `wave_minutes: null` cuts by count only.
    wave_segments: int = Field(default=64, ge=1)
    wave_minutes: float | None = Field(default=10.0, gt=0)
    stitch_slots: int = Field(default=1, ge=1)
    # Score every stitched video against its source (PSNR, SSIM, temporal and seam scores; seedvr.quality):
    # at 2x about half of the stitch stage's CPU. Off, the restorations rows carry no video scores.
    video_scores: bool = True
    # Each restored segment's own cheap scores (no-reference and input fidelity on a few frames), in the
    # segments table.
    segment_scores: bool = True
    probe_slots: int = Field(default=2, ge=1)
    probe_timeout_s: float = 60.0
    probe_max_memory_mb: int = 2048
    # Decoding a segment's window runs in a sandboxed worker: admitted only when the decoded window
    # (width x height x 3 x bytes per sample x frames) fits `decode_window_mb`, killed past
    # `decode_timeout_s`, and capped at `decode_max_memory_mb` of address space.
    decode_timeout_s: float = Field(default=300.0, gt=0)
    decode_window_mb: float = Field(default=2048.0, gt=0)
    decode_max_memory_mb: int = Field(default=4096, ge=0)
    torch_threads: int | None = None
    # Stop the run when every segment of the first wave fails with one of these causes (bad weights,
    # bad config): continuing would only write thousands of identical failed rows.
    abort_on_error_classes: list[str] = Field(default_factory=lambda: ["checkpoint", "config"])


class EncodeConfig(_Frozen):
    """Final-file encoding; passed to seedvr.video.EncodeSettings. Not part of the config hash."""

    codec: str = "libx264"
    crf: int = 18
    preset: str = "medium"
    pix_fmt: str | None = None


class TrackingConfig(_Frozen):
    enabled: bool = True
    # None: sqlite:///<work_dir>/mlflow.db locally; "databricks" on Databricks.
    tracking_uri: str | None = None
    experiment: str = "seedvr-restore"
    artifact_location: str | None = None
    strip_videos: int = Field(default=4, ge=0)


ARCHIVE_EXTENSIONS = (".ts", ".m2ts", ".mts", ".mpg", ".mpeg", ".m2v", ".vob", ".mxf", ".dv", ".avi", ".mov",
                      ".qt", ".mp4", ".m4v", ".mkv", ".webm", ".flv", ".wmv", ".asf", ".3gp", ".3g2", ".y4m",
                      ".ogv", ".nut", ".h264", ".264", ".hevc", ".h265")


class IngestConfig(_Frozen):
    source: str | None = None
    # Folders/prefixes that catalog URIs may point into, besides the source each row was ingested from;
    # anything else (a `..` path, a symlink out of the folder, an edited URI) is refused as `forbidden`.
    source_roots: list[str] = Field(default_factory=list)
    extensions: list[str] = Field(default_factory=lambda: list(ARCHIVE_EXTENSIONS))
    content_class: str = "unknown"
    # Analyse every new or changed file once (shots, scan type, bars, pixel shape; seedvr.video.analysis):
    # a full decode pass per file, in the sandbox. Rows ingested before analysis existed get it on the next
    # ingest.
    analyse: bool = True
    # Shot cuts: auto (TransNetV2 when the `shots` extra is installed, else FFmpeg scdet), transnetv2, scdet.
    shots: Literal["auto", "transnetv2", "scdet"] = "auto"

    _source = field_validator("source")(classmethod(lambda cls, v: absolute_local(v)))
    _roots = field_validator("source_roots")(classmethod(lambda cls, v: [absolute_local(r) for r in v]))
    # Files probed per wave. Probe rows (with each file's frame table) pass through the driver on their
    # way to the MERGE, and Spark Connect caps one upload at 128 MiB: 32 hour-long videos stay far below.
    wave_files: int = Field(default=32, ge=1)


class PrepareConfig(_Frozen):
    """What is done with what the catalog's analysis found (seedvr.video.prepare): restore the
    progressive, square-pixel active picture. Part of the config hash when enabled."""

    enabled: bool = True
    deinterlace: Literal["double", "same", "off"] = "double"
    telecine: Literal["invert", "keep"] = "invert"
    bars: Literal["restore", "drop", "keep"] = "restore"
    pixels: Literal["square", "keep"] = "square"

    def options(self) -> Any:
        """`seedvr.video.prepare.PrepareOptions`, or None when disabled."""
        if not self.enabled:
            return None
        from seedvr.video.prepare import PrepareOptions

        return PrepareOptions(deinterlace=self.deinterlace, inverse_telecine=self.telecine == "invert",
                              bars=self.bars, pixels=self.pixels)


class DisclosureConfig(_Frozen):
    """Signed C2PA provenance inside every output (seedvr.provenance). Not part of the config hash: it
    changes what a file says about itself, not its pictures.

    `signing_key` / `certificate_chain` (PEM, leaf first) are each a path, a URL or `env:NAME` (on
    Databricks, an env var set from a secret scope: `{{secrets/<scope>/<key>}}`). With neither set and
    `test_certificate` on (the local default), a self-signed certificate is generated under
    `storage.work_dir`: files signed with it say they are for testing only.
    """

    enabled: bool = True
    signing_key: str | None = None
    certificate_chain: str | None = None
    # An RFC 3161 timestamp authority, so that signatures outlive the certificate's validity.
    timestamp_url: str | None = None
    test_certificate: bool = True

    _refs = field_validator("signing_key", "certificate_chain")(
        classmethod(lambda cls, v: v if v is None or v.startswith("env:") else absolute_local(v)))


class JobConfig(_Frozen):
    profile: str = DEFAULT_PROFILE
    engine: EngineConfig = Field(default_factory=EngineConfig)
    tables: TablesConfig = Field(default_factory=TablesConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    segments: SegmentConfig = Field(default_factory=SegmentConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    encode: EncodeConfig = Field(default_factory=EncodeConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    prepare: PrepareConfig = Field(default_factory=PrepareConfig)
    disclosure: DisclosureConfig = Field(default_factory=DisclosureConfig)


# ------------------------------------------------------------------------------------- loading


def conf_dirs() -> list[Path]:
    """Profile search path: $SEEDVR_CONF_DIR, the checkout's conf/ folder, then the copy an installed
    wheel carries under <prefix>/share (so `pip install`ed entry points work without a checkout)."""
    dirs = []
    if os.environ.get(CONF_DIR_ENV):
        dirs.append(Path(os.environ[CONF_DIR_ENV]))
    dirs.append(Path(__file__).resolve().parent.parent / "conf")
    dirs.append(Path(sys.prefix) / "share" / "seedvr-lakehouse" / "conf")
    return dirs


def _profile_path(profile: str) -> Path:
    p = Path(profile)
    if p.suffix in (".yaml", ".yml") and p.is_file():
        return p
    for d in conf_dirs():
        cand = d / f"{profile}.yaml"
        if cand.is_file():
            return cand
    known = sorted({f.stem for d in conf_dirs() if d.is_dir() for f in d.glob("*.yaml")})
    raise ConfigError(
        f"profile {profile!r} not found (looked for a .yaml path and {profile}.yaml in "
        f"{[str(d) for d in conf_dirs()]}); known profiles: {known}"
    )


def _read_profile(profile: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    if profile in seen:
        raise ConfigError(f"profile inheritance loops: {' -> '.join((*seen, profile))}")
    path = _profile_path(profile)
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"profile {path} is not valid YAML{where}: {problem}; fix the file") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"profile {path} must be a YAML mapping, got {type(doc).__name__}")
    parent = doc.pop("extends", None)
    if parent:
        doc = deep_merge(_read_profile(str(parent), (*seen, profile)), doc)
    return doc


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Nested dicts merge key by key; everything else in `over` replaces the base value."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def parse_set(items: Sequence[str]) -> dict[str, Any]:
    """`["model.preset=tiny-v1", "execution.gpu_slots=4"]` -> nested dict (values parsed as YAML)."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set expects key.path=value, got {item!r}")
        key, raw = item.split("=", 1)
        set_path(out, key.strip(), yaml.safe_load(raw) if raw.strip() else None)
    return out


def set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    """`doc["a"]["b"]["c"] = value` for `path` "a.b.c", creating the levels on the way: how `--set`
    overrides and the dedicated flags both become partial config documents."""
    node = doc
    *head, last = path.split(".")
    for part in head:
        node = node.setdefault(part, {})
    node[last] = value


def load_config(profile: str | None = None, overrides: Mapping[str, Any] | None = None) -> JobConfig:
    """Defaults <- profile (with `extends`) <- overrides. Raises ConfigError naming the bad key."""
    name = profile or DEFAULT_PROFILE
    try:
        doc = _read_profile(name)
    except ConfigError:
        if profile is not None:
            raise
        doc = {}  # no default profile file on the search path: the code defaults are the local profile
    doc = deep_merge(doc, overrides or {})
    doc.setdefault("profile", name)
    try:
        return JobConfig.model_validate(doc)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors())
        raise ConfigError(f"invalid configuration (profile {name!r}): {problems}") from None


# ------------------------------------------------------------------------------------- hashing


def config_hash(cfg: JobConfig, weights_identity: str | None) -> str:
    """Identity of "the same restoration": 16 hex chars of sha256 over canonical JSON.

    Covers what changes restored pixels: preset, weights identity, target size, segment length and
    context, sampling overrides, colour fix and seed (plus CONFIG_HASH_VERSION). Excludes what does not:
    device, dtype choice on the same preset, attention backend, compile mode, slots, encode settings,
    table paths.
    """
    m = cfg.model
    doc = {
        "v": CONFIG_HASH_VERSION,
        "preset": m.preset,
        "weights": weights_identity,
        "target": m.target.model_dump(),
        "segment_frames": cfg.segments.segment_frames,
        "context_frames": cfg.segments.context_frames,
        "sampling": m.sampling,
        "colour_fix": m.colour_fix,
        "seed": m.seed,
    }
    if cfg.segments.split_at_cuts:
        doc["split_at_cuts"] = True
    if cfg.prepare.enabled:
        doc["prepare"] = cfg.prepare.model_dump(exclude={"enabled"})
    if m.vae_tile is not None:  # only when set, so untiled configs keep their hash
        doc["vae_tile"] = m.vae_tile
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
