from pathlib import Path

from jobs.databricks.notebook_support import NotebookContext


class FakeWidgets:
    """Stands in for Databricks' dbutils.widgets, which exists only on a cluster."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values, self.declared = values, {}

    def text(self, name: str, default: str, label: str) -> None:
        self.declared[name] = (default, label)

    def get(self, name: str) -> str:
        return self.values.get(name, self.declared[name][0])


class FakeDbutils:
    def __init__(self, values: dict[str, str]) -> None:
        self.widgets = FakeWidgets(values)


def test_widgets_are_declared_on_databricks_and_read_back_trimmed() -> None:
    dbutils = FakeDbutils({"preset": "  seedvr2-3b "})
    nb = NotebookContext({"dbutils": dbutils})
    assert nb.widget("preset", "tiny-v2", "preset") == "seedvr2-3b"
    assert nb.widget("ids", "a,b") == "a,b"
    assert dbutils.widgets.declared == {"preset": ("tiny-v2", "preset"), "ids": ("a,b", "ids")}


def test_widgets_fall_back_to_environment_then_default(monkeypatch) -> None:
    monkeypatch.setenv("SEEDVR_WIDGET_PRESET", "identity")
    nb = NotebookContext({})
    assert nb.widget("preset", "tiny-v2") == "identity"
    assert nb.widget("ids", "x") == "x"


def test_show_and_show_png_use_display_when_present(tmp_path: Path, capsys) -> None:
    shown, html = [], []
    png = tmp_path / "a.png"
    png.write_bytes(b"\x89PNG fake")
    nb = NotebookContext({"display": shown.append, "displayHTML": html.append})
    nb.show([1, 2])
    nb.show_png(png)
    assert shown == [[1, 2]] and html[0].startswith('<img src="data:image/png;base64,')
    NotebookContext({}).show_png(png)
    assert str(png) in capsys.readouterr().out
