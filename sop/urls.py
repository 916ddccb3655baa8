from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("", include("sop.app_urls")),
    path("demand/", include("demand.urls")),
    path("supply/", include("supply.urls")),
    path("reconciliation/", include("reconciliation.urls")),
    path("executive/", include("executive.urls")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
