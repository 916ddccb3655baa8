from django.urls import path, re_path

from demand import views
from demand.roundtrip import ROUNDTRIP
from sop import roundtrip_views, run_views

app_name = "demand"

urlpatterns = [
    path("", views.review, name="review"),
    path("grid/", views.grid, name="grid"),
    path("event-lift/", views.event_lift, name="event_lift"),
    path("cycles/<int:cycle_pk>/overrides/", views.override_save, name="override_save"),
    path("cycles/<int:cycle_pk>/grid/", views.grid_override_save, name="grid_override_save"),
    path(
        "cycles/<int:cycle_pk>/forecast/",
        run_views.run_start,
        {"kind": "forecast"},
        name="run_start",
    ),
    path(
        "cycles/<int:cycle_pk>/reforecast/<int:product_pk>/",
        views.sku_reforecast,
        name="sku_reforecast",
    ),
    path("runs/<int:pk>/", run_views.run_status, {"kind": "forecast"}, name="run_status"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run_cancel"),
    path("workbook.xlsx", views.workbook, name="workbook"),
    path(
        "cycles/<int:cycle_pk>/workbook/preview/",
        roundtrip_views.workbook_preview,
        {"grid": ROUNDTRIP},
        name="workbook_preview",
    ),
    path(
        "cycles/<int:cycle_pk>/workbook/apply/",
        roundtrip_views.workbook_apply,
        {"grid": ROUNDTRIP},
        name="workbook_apply",
    ),
    path("cycles/<int:cycle_pk>/source/", views.consensus_source_save, name="source_save"),
    path("cycles/<int:cycle_pk>/streams/", views.grid_stream_save, name="grid_stream_save"),
    path("streams/<slug:code>/workbook.xlsx", views.stream_workbook, name="stream_workbook"),
    path(
        "cycles/<int:cycle_pk>/streams/<slug:code>/preview/",
        views.stream_workbook_preview,
        name="stream_workbook_preview",
    ),
    path(
        "cycles/<int:cycle_pk>/streams/<slug:code>/apply/",
        views.stream_workbook_apply,
        name="stream_workbook_apply",
    ),
    re_path(r"^export\.(?P<fmt>csv|xlsx)$", views.export, name="export"),
]
