from django.urls import path, re_path

from reconciliation import views
from sop import run_views

app_name = "reconciliation"

urlpatterns = [
    path("", views.review, name="review"),
    path("compare/", views.compare, name="compare"),
    path("cycles/<int:cycle_pk>/scenarios/", views.scenarios_status, name="scenarios_status"),
    path("cycles/<int:cycle_pk>/scenarios/new/", views.scenario_create, name="scenario_create"),
    path("cycles/<int:cycle_pk>/base/run/", views.base_run, name="base_run"),
    path("cycles/<int:cycle_pk>/decisions/", views.decision_add, name="decision_add"),
    path("cycles/<int:cycle_pk>/risks/", views.risk_save, name="risk_add"),
    path("cycles/<int:cycle_pk>/risks/<int:pk>/", views.risk_save, name="risk_change"),
    path("scenarios/<int:pk>/run/", views.scenario_run, name="scenario_run"),
    path("scenarios/<int:pk>/copy/", views.scenario_copy, name="scenario_copy"),
    path("scenarios/<int:pk>/rename/", views.scenario_rename, name="scenario_rename"),
    path("scenarios/<int:pk>/delete/", views.scenario_delete, name="scenario_delete"),
    path("scenarios/<int:pk>/recommend/", views.scenario_recommend, name="scenario_recommend"),
    path("scenarios/<int:pk>/deltas/<str:kind>/", views.delta_add, name="delta_add"),
    path(
        "scenarios/<int:pk>/deltas/<int:index>/remove/",
        views.delta_remove,
        name="delta_remove",
    ),
    path("runs/<int:pk>/", run_views.run_status, {"kind": "scenario"}, name="run_status"),
    path("runs/<int:run_pk>/skus/", views.sku_gaps, name="sku_gaps"),
    re_path(r"^compare/export\.(?P<fmt>csv|xlsx)$", views.compare_export, name="compare_export"),
    re_path(r"^export\.(?P<fmt>csv|xlsx)$", views.export, name="export"),
]
