"""Session factory: the three kinds share one code path; a handed-in session is never stopped."""

from __future__ import annotations

import pytest

from jobs.config import EngineConfig
from jobs.engine import get_engine, session
from seedvr.errors import ConfigError


def test_connect_url_reaches_a_running_sail_server(spark) -> None:
    from pysail.spark import SparkConnectServer

    server = SparkConnectServer(ip="127.0.0.1", port=0)
    server.start(background=True)
    try:
        host, port = server.listening_address
        with session(EngineConfig(kind="connect", url=f"sc://{host}:{port}")) as eng:
            assert eng.name == "spark-connect"
            assert eng.spark.range(3).count() == 3
    finally:
        server.stop()
    assert spark.range(2).count() == 2  # the shared session is untouched


def test_handed_in_session_is_used_and_not_stopped(spark) -> None:
    with session(EngineConfig(kind="sail"), spark=spark) as eng:
        assert eng.spark is spark and eng.name == "sail"
    assert spark.range(1).count() == 1


def test_connect_without_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="engine.url"):
        get_engine(EngineConfig(kind="connect"))


def test_active_kind_without_a_cluster_says_where_it_runs(monkeypatch) -> None:
    from pyspark.sql import SparkSession

    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    monkeypatch.setattr(SparkSession, "getActiveSession", classmethod(lambda cls: None))
    with pytest.raises(ConfigError, match=r"profile 'databricks_dev' uses engine.kind=active.*--engine connect "
                                          r"--connect-url sc://.*--profile local runs here"):
        get_engine(EngineConfig(kind="active"), profile="databricks_dev")
