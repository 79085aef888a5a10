"""Widgets and display for the notebooks, with local fallbacks when they run outside Databricks.

Databricks injects `dbutils` and `display` into a notebook's globals, not into imported modules, so the
notebook hands its namespace in: `nb = NotebookContext(globals())`.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class NotebookContext:
    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self._dbutils = namespace.get("dbutils")
        self._display = namespace.get("display")
        self._display_html = namespace.get("displayHTML")

    def widget(self, name: str, default: str = "", label: str | None = None) -> str:
        """A text widget on Databricks (job parameters fill it); `SEEDVR_WIDGET_<NAME>` or the default elsewhere."""
        if self._dbutils is not None:
            self._dbutils.widgets.text(name, default, label or name)
            return self._dbutils.widgets.get(name).strip()
        return os.environ.get(f"SEEDVR_WIDGET_{name.upper()}", default).strip()

    def show(self, obj: Any, limit: int = 20) -> None:
        """`display` on Databricks, a printed table elsewhere (Spark or pandas frames, or anything else)."""
        if self._display is not None:
            self._display(obj)
        elif hasattr(obj, "toPandas"):
            print(obj.limit(limit).toPandas().to_string())
        elif hasattr(obj, "head"):
            print(obj.head(limit).to_string())
        else:
            print(obj)

    def show_png(self, path: Path) -> None:
        """An inline image on Databricks; the file path elsewhere."""
        if self._display_html is not None:
            data = base64.b64encode(Path(path).read_bytes()).decode()
            self._display_html(f'<img src="data:image/png;base64,{data}" style="max-width:100%"/>')
        else:
            print(f"wrote {path}")
