"""Fixtures of the core's import tests: where files go, and the rows extracts refer to."""

from __future__ import annotations

import pytest


@pytest.fixture
def media(settings, tmp_path):
    """Uploads and imported copies go to the test's own directory."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def refs(db):
    """The products and locations the import tests' extracts name."""
    from tests.factories import LocationFactory, ProductFactory

    ProductFactory(sku="A1", family="Widgets")
    ProductFactory(sku="B2", family="Gadgets")
    for code in ("WH1", "WH2", "DC1"):
        LocationFactory(code=code)
