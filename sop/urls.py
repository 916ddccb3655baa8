from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from sop import api

urlpatterns = [
    path("", include("sop.app_urls")),
    path("demand/", include("demand.urls")),
    path("supply/", include("supply.urls")),
    path("reconciliation/", include("reconciliation.urls")),
    path("executive/", include("executive.urls")),
    # The REST API: the core's routes and, by name as the includes above, the apps' routers.
    path(
        "api/v1/",
        api.urls(
            {
                "/demand": "demand.api.router",
                "/supply": "supply.api.router",
                "/executive": "executive.api.router",
            }
        ),
    ),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
