from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from sop import account_views, api

_RESET_HOURS = {"timeout_hours": max(settings.PASSWORD_RESET_TIMEOUT // 3600, 1)}

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
    path("account/password/", account_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "account/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # Password reset by e-mail (Django's views, which need no sign-in).
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(extra_email_context=_RESET_HOURS),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(extra_context=_RESET_HOURS),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("admin/", admin.site.urls),
]
