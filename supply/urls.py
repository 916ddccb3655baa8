from django.urls import path, re_path

from sop import roundtrip_views, run_views
from supply import views
from supply.roundtrip import ROUNDTRIP

app_name = "supply"

urlpatterns = [
    path("", views.review, name="review"),
    path("classification/", views.classification, name="classification"),
    path("suppliers/", views.suppliers, name="suppliers"),
    re_path(
        r"^suppliers/missed\.(?P<fmt>csv|xlsx)$",
        views.suppliers_missed_export,
        name="suppliers_missed_export",
    ),
    path("cycles/<int:cycle_pk>/run/", run_views.run_start, {"kind": "supply"}, name="run_start"),
    path("grid/", views.grid, name="grid"),
    path("cycles/<int:cycle_pk>/planned/", views.planned_save, name="planned_save"),
    path("cycles/<int:cycle_pk>/grid/", views.grid_planned_save, name="grid_planned_save"),
    path("cycles/<int:cycle_pk>/capacity/", views.capacity_save, name="capacity_save"),
    path("cycles/<int:cycle_pk>/sku/", views.sku_card, name="sku_card"),
    path("runs/<int:pk>/", run_views.run_status, {"kind": "supply"}, name="run_status"),
    path("runs/<int:run_pk>/drill/", views.capacity_drill, name="capacity_drill"),
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
    re_path(r"^export\.(?P<fmt>csv|xlsx)$", views.export, name="export"),
]
