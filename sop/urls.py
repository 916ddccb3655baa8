from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from demand.api import router as demand_api
from executive.api import router as executive_api
from sop import api
from supply.api import router as supply_api

# The planning apps' API routes, beside the core's (the core names no app; this file may).
api.api.add_router("/demand", demand_api)
api.api.add_router("/supply", supply_api)
api.api.add_router("/executive", executive_api)

urlpatterns = [
    path("", include("sop.app_urls")),
    path("demand/", include("demand.urls")),
    path("supply/", include("supply.urls")),
    path("reconciliation/", include("reconciliation.urls")),
    path("executive/", include("executive.urls")),
    path("api/v1/", api.urls()),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
