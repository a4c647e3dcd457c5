"""Fixtures shared by the data tests."""

import urllib.error

import pytest

from seqlab.data import registry


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No data folder, an empty cache, and no network."""
    monkeypatch.delenv("SEQLAB_DATA", raising=False)
    monkeypatch.setenv("SEQLAB_CACHE", str(tmp_path / "cache"))

    def no_network(*a, **k):
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(registry.urllib.request, "urlopen", no_network)
    return tmp_path
