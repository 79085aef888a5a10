"""SparkSession factory: embedded Sail, the active session (Databricks), or a Spark Connect URL.

Whatever the kind, the job afterwards uses only the portable subset (DataFrame API + SQL MERGE), so the
rest of the code never asks which engine it runs on except to record it as provenance.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jobs.config import EngineConfig
from seedvr.errors import ConfigError


@dataclass
class Engine:
    """A session plus what is needed to stop it (only what the job itself started)."""

    spark: Any
    name: str  # "sail" | "databricks" | "spark-connect" | "spark"
    _server: Any = None
    _owned: bool = False

    def stop(self) -> None:
        if self._owned:
            with contextlib.suppress(Exception):
                self.spark.stop()
        if self._server is not None:
            with contextlib.suppress(Exception):
                self._server.stop()
            self._server = None


def _engine_name_of(spark: Any) -> str:
    if os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        return "databricks"
    return "spark-connect" if type(spark).__module__.startswith("pyspark.sql.connect") else "spark"


def start_sail(sail_env: dict[str, str] | None = None) -> tuple[Any, Any]:
    """Start an in-process Sail Spark Connect server on 127.0.0.1 and connect to it.

    SAIL_* variables are read when the server is constructed, so they are set (without overriding
    values the caller exported) just before. The client channel accepts results up to 1 GiB: Spark
    Connect's default 128 MiB cap is hit by a few hundred thousand metadata rows.
    """
    for k, v in (sail_env or {}).items():
        os.environ.setdefault(k, str(v))
    from pysail.spark import SparkConnectServer
    from pyspark.sql.connect.client import DefaultChannelBuilder
    from pyspark.sql.connect.session import SparkSession

    server = SparkConnectServer(ip="127.0.0.1", port=0)
    server.start(background=True)
    host, port = server.listening_address
    builder = DefaultChannelBuilder(
        f"sc://{host}:{port}",
        channelOptions=[("grpc.max_receive_message_length", 1 << 30), ("grpc.max_send_message_length", 1 << 30)],
    )
    spark = SparkSession.builder.channelBuilder(builder).create()  # never an existing session
    return server, spark


def _active_session(profile: str | None) -> Any:
    """The running SparkSession (a Databricks cluster's), or one the environment describes (SPARK_REMOTE,
    a classic pyspark with a cluster manager). Anywhere else this is a configuration mistake, said in one
    line: the Spark Connect client otherwise fails with CONNECT_URL_NOT_SET."""
    from pyspark.sql import SparkSession

    s = SparkSession.getActiveSession()
    if s is not None:
        return s
    try:
        return SparkSession.builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - CONNECT_URL_NOT_SET, JAVA_GATEWAY_EXITED, ...
        if os.environ.get("DATABRICKS_RUNTIME_VERSION"):
            raise
        which = f"profile {profile!r}" if profile else "this profile"
        raise ConfigError(
            f"{which} uses engine.kind=active, the SparkSession of a Databricks cluster, and none is running "
            "here: run it as a job on Databricks (databricks bundle run), or pass --engine connect "
            "--connect-url sc://host:port for a Spark Connect server; --profile local runs here on the "
            f"embedded engine ({type(exc).__name__})"
        ) from None


def get_engine(cfg: EngineConfig, spark: Any = None, *, profile: str | None = None) -> Engine:
    """Session for `cfg.kind`; a session handed in (tests, notebooks) is used as is and never stopped.

    `profile` names the job profile in the one-line error of a kind that cannot start here.
    """
    if spark is not None:
        # Spark Connect reports the client protocol version, not the server, so the name comes from cfg.
        eng = Engine(spark=spark, name="sail" if cfg.kind == "sail" else _engine_name_of(spark))
    elif cfg.kind == "sail":
        server, s = start_sail(cfg.sail_env)
        eng = Engine(spark=s, name="sail", _server=server, _owned=True)
    elif cfg.kind == "active":
        s = _active_session(profile)
        eng = Engine(spark=s, name=_engine_name_of(s))
    elif cfg.kind == "connect":
        if not cfg.url:
            raise ConfigError("engine.kind=connect needs engine.url (sc://host:port)")
        from pyspark.sql import SparkSession

        s = SparkSession.builder.remote(cfg.url).create()  # ours to stop, never a shared one
        eng = Engine(spark=s, name="spark-connect", _owned=True)
    else:  # pragma: no cover - pydantic restricts the literal
        raise ConfigError(f"engine.kind must be sail, active or connect, got {cfg.kind!r}")
    for k, v in cfg.spark_conf.items():
        with contextlib.suppress(Exception):  # some confs are read-only on some engines
            eng.spark.conf.set(k, v)
    return eng


@contextlib.contextmanager
def session(cfg: EngineConfig, spark: Any = None, *, profile: str | None = None) -> Iterator[Engine]:
    """Context manager form of get_engine(): stops only what it started."""
    from jobs.interrupts import on_interrupt

    eng = get_engine(cfg, spark, profile=profile)
    try:
        with on_interrupt(lambda: _interrupt_all(eng.spark)):
            yield eng
    finally:
        eng.stop()


def _interrupt_all(spark: Any) -> None:
    """Cancel the session's running operations (Spark Connect and classic sessions both have it)."""
    interrupt = getattr(spark, "interruptAll", None)
    if interrupt is not None:
        interrupt()
    else:  # classic Spark before 3.5
        spark.sparkContext.cancelAllJobs()
