import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Weight copies and digest records go to a temporary folder, never the user's cache."""
    monkeypatch.setenv("SEEDVR_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "seedvr-cache"))
