"""GPU memory per node type and the preset-fits-node check."""

from __future__ import annotations

import re

import pytest

from jobs.databricks import sizing
from seedvr.checkpoints.presets import PRESETS, get_preset
from seedvr.errors import ConfigError


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_check_agrees_with_memory_arithmetic(preset: str) -> None:
    need = get_preset(preset).min_gpu_memory_gb
    for node in sizing.NODE_TYPES:
        have = sizing.NODE_TYPES[node].gpu_memory_gb * sizing.USABLE_FRACTION
        if need <= have:
            assert sizing.check_preset_fits(preset, node).name == node
        else:
            with pytest.raises(ConfigError, match=re.escape(node)):
                sizing.check_preset_fits(preset, node)


def test_7b_does_not_fit_a_24gb_gpu_and_the_message_suggests_nodes_that_do() -> None:
    with pytest.raises(ConfigError) as err:
        sizing.check_preset_fits("seedvr2-7b", "g5.xlarge")
    suggested = re.findall(r"(\S+) \(\d+ GB", str(err.value).split("e.g.")[1])
    assert suggested
    for name in suggested:
        sizing.check_preset_fits("seedvr2-7b", name)  # every suggestion really fits
        assert sizing.NODE_TYPES[name].cloud == "aws"


def test_released_presets_fit_the_recommended_large_nodes() -> None:
    for large in (recs[1] for recs in sizing.RECOMMENDED.values()):
        for name, preset in PRESETS.items():
            if preset.architecture:
                sizing.check_preset_fits(name, large)


@pytest.mark.parametrize("bad", ["", "  ", "g6e.xlarg", "m5.xlarge"])
def test_unknown_or_empty_node_type_is_refused_by_name(bad: str) -> None:
    with pytest.raises(ConfigError, match="gpu_node_type" if not bad.strip() else re.escape(bad)):
        sizing.check_preset_fits("seedvr2-3b", bad)


def test_explicit_gpu_memory_overrides_the_table() -> None:
    assert sizing.check_preset_fits("seedvr2-7b", "custom.node", gpu_memory_gb=80) is None
    with pytest.raises(ConfigError, match="custom.node"):
        sizing.check_preset_fits("seedvr2-7b", "custom.node", gpu_memory_gb=16)


def test_unknown_preset_is_refused() -> None:
    with pytest.raises(ConfigError, match="seedvr9"):
        sizing.check_preset_fits("seedvr9", "g6e.xlarge")


def test_sizing_table_lists_each_model_preset_with_a_node_that_fits() -> None:
    table = sizing.sizing_markdown()
    rows = [r for r in table.splitlines()[2:]]
    listed = [re.match(r"\| `([^`]+)`", r).group(1) for r in rows]
    assert listed == [n for n, p in PRESETS.items() if p.min_gpu_memory_gb > 0]
    for row in rows:
        preset = re.match(r"\| `([^`]+)`", row).group(1)
        for node in re.findall(r"\| `([^`]+)` \(", row):
            sizing.check_preset_fits(preset, node)


def test_readme_sizing_table_is_generated_from_the_presets() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert sizing.sizing_markdown() in readme, "regenerate the README table with `python -m jobs.databricks.sizing`"


def test_cli_exits_2_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ex:
        sizing.main(["--preset", "seedvr-7b", "--node-type", "g6.xlarge"])
    assert ex.value.code == 2
    assert "g6.xlarge" in capsys.readouterr().err
    assert sizing.main(["--preset", "seedvr-7b", "--node-type", "p5.48xlarge"]) == 0


class _Conf:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.values.get(key, default)


class _Session:
    def __init__(self, node: str | None) -> None:
        self.conf = _Conf({sizing.CLUSTER_NODE_TYPE_CONF: node} if node else {})


def test_session_check_reads_the_databricks_cluster_node_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "17.3")
    with pytest.raises(ConfigError, match="g6.xlarge"):
        sizing.check_session_fits(_Session("g6.xlarge"), "seedvr2-7b")
    assert sizing.check_session_fits(_Session("p5.48xlarge"), "seedvr2-7b").gpus == 8
    assert sizing.check_session_fits(_Session("g7.futuristic"), "seedvr2-7b") is None
    assert sizing.check_session_fits(_Session(None), "seedvr2-7b") is None


def test_session_check_does_nothing_off_databricks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    assert sizing.check_session_fits(_Session("g4dn.xlarge"), "seedvr2-7b") is None
