"""What a segment is expected to cost on the accelerator, so that waves can be sized by time.

A wave is one commit and the work a kill loses, so it should hold minutes of restore work whatever the
videos are: a wave of 4K segments and one of 360p segments should both commit every few minutes. A
segment's cost is its window frames x its output megapixels x a rate in seconds per output megapixel-frame.
The rate is the median measured over earlier results of the same config (else of the same preset) in the
segments table, else the preset's estimate (`Preset.restore_s_per_mpix_frame`). Everything per segment is
computed in Spark; the rate is the one number that reaches the driver.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

from seedvr.restorer.target import TargetSize

N = TypeVar("N")


def segment_seconds(frames: N, out_pixels: N, rate: float) -> N:
    """Expected restore seconds of a segment: window frames x output megapixels x seconds per megapixel-frame.

    Plain arithmetic on purpose: given Spark columns it builds the planner's column, given numbers it gives
    the number a test or an estimate expects, so the two cannot drift apart."""
    return frames * (out_pixels / 1e6) * rate  # type: ignore[operator]


def rate_of(restore_s: N, frames: N, out_pixels: N) -> N:
    """Seconds per output megapixel-frame of one restored segment (the inverse of `segment_seconds`)."""
    return restore_s / (frames * (out_pixels / 1e6))  # type: ignore[operator]


@dataclass(frozen=True)
class WaveSizing:
    """How this run cuts its waves, and what it expects of them."""

    wave_segments: int
    # Target seconds of expected restore work per wave; None: waves by count only.
    wave_s: float | None = None
    # Seconds per output megapixel-frame, and where that figure comes from.
    rate: float = 0.0
    rate_source: str = "none"
    target: TargetSize = TargetSize("scale", 1.0)
    # Filled once the waves are assigned: expected seconds of each wave, in wave order.
    expected_s: tuple[float, ...] = ()

    def with_expected(self, expected_s: list[float]) -> WaveSizing:
        return dataclasses.replace(self, expected_s=tuple(expected_s))

    def line(self) -> str:
        """One line for the summary: the target, the rate and what the waves are expected to take."""
        target = f"{_duration(self.wave_s)} of restore work" if self.wave_s else "count only"
        out = (f"wave sizing: {target}, at most {self.wave_segments} segments; "
               f"{self.rate:.3g} s per output megapixel-frame ({self.rate_source})")
        if self.expected_s:
            e = sorted(self.expected_s)
            out += (f"; expected {_duration(e[len(e) // 2])} per wave (median; "
                    f"{_duration(e[0])} to {_duration(e[-1])} over {len(e)} waves)")
        return out

    def params(self) -> dict[str, Any]:
        """MLflow parameters (the expected seconds are metrics: `metrics()`)."""
        return {"wave_minutes": self.wave_s / 60 if self.wave_s else None,
                "wave_rate_s_per_mpix_frame": self.rate, "wave_rate_source": self.rate_source}

    def metrics(self) -> dict[str, float]:
        if not self.expected_s:
            return {}
        e = sorted(self.expected_s)
        return {"wave_expected_s.median": e[len(e) // 2], "wave_expected_s.max": e[-1]}


def _duration(s: float) -> str:
    return f"{s:.3g} s" if s < 90 else f"{s / 60:.1f} min"


def _segments(n: int) -> str:
    return f"{n} restored segment{'' if n == 1 else 's'}"


def output_pixels(width: Any, height: Any, target: TargetSize) -> Any:
    """The restored frame's pixel count as a Spark column: `TargetSize.output_size` in column arithmetic
    (the same operations in the same order, half-to-even rounding as Python's round), so per-segment costs
    need no Python worker. A test checks the two agree. Sizes under 1 are clamped rather than divided by:
    an engine may evaluate the division for rows a guard leaves out, and raise."""
    from pyspark.sql import functions as F

    h, w = F.col(height).cast("double"), F.col(width).cast("double")
    if target.mode == "area":
        factor = F.sqrt(F.lit(float(target.value)) / F.greatest(h * w, F.lit(1.0)))
    elif target.mode == "short_side":
        factor = F.lit(float(target.value)) / F.greatest(F.least(h, w), F.lit(1.0))
    else:
        factor = F.lit(float(target.value))
    m = float(target.multiple)

    def side(s: Any) -> Any:
        return F.greatest(F.lit(m), F.bround((s * factor) / F.lit(m), 0) * F.lit(m))

    return side(h) * side(w)


def measured_rate(segments: Any, config_hash: str, preset: str) -> tuple[float | None, str]:
    """(median seconds per output megapixel-frame of earlier ok restores, where it comes from): of this
    config when it has any, else of the preset; None when neither has. One row comes back."""
    from pyspark.sql import functions as F

    ok = segments.filter(
        (F.col("preset") == preset) & (F.col("status") == "ok") & ~F.coalesce(F.col("reused"), F.lit(False))
        & (F.col("restore_s") > 0) & (F.col("frames_out") > 0) & (F.col("out_height") > 0)
        & (F.col("out_width") > 0))
    rate = rate_of(F.col("restore_s"), F.col("frames_out").cast("double"),
                   F.col("out_height").cast("double") * F.col("out_width"))
    mine = F.when(F.col("config_hash") == config_hash, rate)
    r = ok.agg(F.percentile_approx(mine, 0.5).alias("mine"), F.count(mine).alias("n_mine"),
               F.percentile_approx(rate, 0.5).alias("preset"), F.count(rate).alias("n_preset")).collect()[0]
    if r["n_mine"]:
        return float(r["mine"]), f"median of {_segments(r['n_mine'])} of this config"
    if r["n_preset"]:
        return float(r["preset"]), f"median of {_segments(r['n_preset'])} of preset {preset}"
    return None, ""


def wave_sizing(spark: Any, tables: Any, cfg: Any, config_hash: str) -> WaveSizing:
    """This run's wave sizing: the configured target and cap, and the rate (measured, else the preset's)."""
    from seedvr.checkpoints.presets import get_preset

    t, ex = cfg.model.target, cfg.execution
    target = TargetSize(t.mode, t.value, t.multiple)
    if ex.wave_minutes is None:
        return WaveSizing(ex.wave_segments, None, 0.0, "count only", target)
    rate, source = measured_rate(tables.segments.read(spark), config_hash, cfg.model.preset)
    if rate is None:
        preset = get_preset(cfg.model.preset)
        sampling = {k: v for k, v in cfg.model.sampling.items() if k in ("steps", "cfg_scale")}
        rate = preset.with_sampling(**sampling).restore_s_per_mpix_frame() if preset.dit else 0.0
        source = f"estimate for preset {preset.name}"
    return WaveSizing(ex.wave_segments, 60.0 * ex.wave_minutes, rate, source, target)


def with_cost(plan: Any, videos: Any, sizing: WaveSizing) -> Any:
    """`plan` with `est_s`, the expected restore seconds of each segment (0 for a video of unknown size:
    the count cap alone then sizes its waves)."""
    from pyspark.sql import functions as F

    sizes = videos.select("video_id", F.col("width").alias("_w"), F.col("height").alias("_h"))
    frames = (F.col("last_output") - F.col("window_start") + 1).cast("double")
    known = (F.col("_w") > 0) & (F.col("_h") > 0)
    est = F.when(known, segment_seconds(frames, output_pixels("_w", "_h", sizing.target), sizing.rate))
    return (plan.join(sizes, on="video_id", how="left")
            .withColumn("est_s", F.coalesce(est, F.lit(0.0))).drop("_w", "_h"))
