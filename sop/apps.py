from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SopConfig(AppConfig):
    name = "sop"
    verbose_name = "S&OP core"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from sop import accounts, import_views, imports, run_views, runs
        from sop.roles import sync_role_permissions

        # The audit trail of sign-ins (sop/accounts.py).
        user_logged_in.connect(accounts.on_logged_in, dispatch_uid="sop.signin_audit")
        user_login_failed.connect(accounts.on_login_failed, dispatch_uid="sop.signin_failed")
        user_locked_out.connect(accounts.on_locked_out, dispatch_uid="sop.signin_locked_out")

        runs.register(imports.IMPORT_RUN)
        run_views.register_panel(imports.IMPORT_RUN_KIND, import_views.IMPORT_PANEL)

        # Runs after every app's permissions exist, so each group gets the full set.
        post_migrate.connect(sync_role_permissions, dispatch_uid="sop.sync_role_permissions")
