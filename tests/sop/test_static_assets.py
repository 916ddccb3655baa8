"""The chart pages load plotly's cartesian bundle, served gzipped and cached for good."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.test import Client

from sop import figures

VENDOR = Path(__file__).resolve().parents[2] / "static" / "vendor"
BUNDLE = VENDOR / "plotly-cartesian.min.js"


def test_the_bundle_draws_every_trace_type_a_figure_may_hold():
    source = BUNDLE.read_text(encoding="utf-8")
    drawn = set(re.findall(r'moduleType:"trace",name:"(\w+)"', source))
    assert drawn == figures.TRACE_TYPES
    assert {"scatter", "bar", "heatmap"} <= drawn


def test_a_figure_refuses_a_trace_type_the_bundle_cannot_draw():
    with pytest.raises(ValueError, match="'scattergeo'"):
        figures.Figure({"type": "scattergeo", "lat": [1], "lon": [2]})


def test_no_chart_builds_a_plotly_figure_outside_the_one_builder():
    # graph_objects would accept any trace type the bundle lacks; the charts go through
    # sop.figures, whose add_trace checks the type.
    root = Path(__file__).resolve().parents[2]
    for charts in root.glob("*/charts.py"):
        assert "graph_objects" not in charts.read_text(), charts


def test_the_chart_pages_load_the_cartesian_bundle_and_not_the_full_one():
    html = render_to_string("sop/partials/chart_scripts.html")
    assert "vendor/plotly-cartesian.min.js" in html
    assert not (VENDOR / "plotly.min.js").exists()


@pytest.fixture
def collected(settings, tmp_path):
    """Static files as production serves them: collected, hashed and compressed."""
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = False
    call_command("collectstatic", interactive=False, verbosity=0)
    return settings.STATIC_ROOT


def test_the_bundle_is_served_gzipped_with_a_far_future_immutable_cache(collected):
    url = static("vendor/plotly-cartesian.min.js")
    assert re.search(r"plotly-cartesian\.min\.[0-9a-f]{12}\.js$", url), url

    # A new client builds the middleware stack, so WhiteNoise reads the collected files.
    response = Client().get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")

    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert response["Cache-Control"] == "max-age=315360000, public, immutable"
    assert "Accept-Encoding" in response["Vary"]
    body = b"".join(response.streaming_content)
    assert len(body) < BUNDLE.stat().st_size / 2
    assert gzip.decompress(body) == BUNDLE.read_bytes()


def test_a_browser_without_gzip_gets_the_plain_bundle(collected):
    response = Client().get(static("vendor/plotly-cartesian.min.js"))
    assert response.status_code == 200
    assert "Content-Encoding" not in response
    assert b"".join(response.streaming_content) == BUNDLE.read_bytes()
