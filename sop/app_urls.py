from django.urls import path

from sop import import_views, views

app_name = "sop"

urlpatterns = [
    path("", views.home, name="home"),
    path("cycles/<int:pk>/advance/", views.cycle_advance, name="cycle_advance"),
    path("imports/", import_views.import_list, name="import_list"),
    path("imports/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("imports/<int:pk>/progress/", import_views.import_progress, name="import_progress"),
    path("imports/<int:pk>/errors.csv", import_views.import_errors_csv, name="import_errors_csv"),
    path("imports/samples/<str:entity>.csv", import_views.import_sample, name="import_sample"),
]
