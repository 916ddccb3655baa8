from django.urls import path

from sop import account_views, event_views, import_source_views, import_views, run_views, views

app_name = "sop"

urlpatterns = [
    path("", views.home, name="home"),
    path("cycles/open/", views.cycle_open, name="cycle_open"),
    path("cycles/<int:pk>/advance/", views.cycle_advance, name="cycle_advance"),
    path("notifications/read/", views.notifications_read_all, name="notifications_read_all"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("audit/", views.audit, name="audit"),
    path("users/", account_views.users, name="users"),
    path("users/<int:pk>/active/", account_views.user_active, name="user_active"),
    path("users/lockouts/lift/", account_views.lockout_lift, name="lockout_lift"),
    path("events/", event_views.event_list, name="event_list"),
    path("events/new/", event_views.event_create, name="event_create"),
    path("events/<int:pk>/", event_views.event_edit, name="event_edit"),
    path("events/<int:pk>/cancel/", event_views.event_cancel, name="event_cancel"),
    path("events/<int:pk>/delete/", event_views.event_delete, name="event_delete"),
    path("account/api-tokens/", views.api_tokens, name="api_tokens"),
    path("account/api-tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
    path("imports/", import_views.import_list, name="import_list"),
    path("imports/uploads/<int:pk>/", import_views.import_upload, name="import_upload"),
    path(
        "imports/uploads/<int:pk>/confirm/",
        import_views.import_upload_confirm,
        name="import_upload_confirm",
    ),
    path(
        "imports/uploads/<int:pk>/cancel/",
        import_views.import_upload_cancel,
        name="import_upload_cancel",
    ),
    path("imports/profiles/", import_views.import_profile_list, name="import_profile_list"),
    path("imports/profiles/new/", import_views.import_profile_create, name="import_profile_create"),
    path(
        "imports/profiles/<int:pk>/", import_views.import_profile_edit, name="import_profile_edit"
    ),
    path(
        "imports/profiles/<int:pk>/delete/",
        import_views.import_profile_delete,
        name="import_profile_delete",
    ),
    path("imports/sources/", import_source_views.import_source_list, name="import_source_list"),
    path(
        "imports/sources/new/",
        import_source_views.import_source_create,
        name="import_source_create",
    ),
    path(
        "imports/sources/<int:pk>/",
        import_source_views.import_source_edit,
        name="import_source_edit",
    ),
    path(
        "imports/sources/<int:pk>/check/",
        import_source_views.import_source_check,
        name="import_source_check",
    ),
    path(
        "imports/sources/<int:pk>/pull/",
        import_source_views.import_source_pull,
        name="import_source_pull",
    ),
    path("imports/<int:pk>/", import_views.import_detail, name="import_detail"),
    path(
        "imports/<int:pk>/progress/",
        run_views.run_status,
        {"kind": "import"},
        name="import_progress",
    ),
    path("imports/<int:pk>/errors.csv", import_views.import_errors_csv, name="import_errors_csv"),
    path("imports/samples/<str:entity>.csv", import_views.import_sample, name="import_sample"),
]
