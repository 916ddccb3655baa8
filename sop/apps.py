from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SopConfig(AppConfig):
    name = "sop"
    verbose_name = "S&OP core"

    def ready(self) -> None:
        from sop import import_views, imports, run_views, runs
        from sop.roles import sync_role_permissions

        runs.register(imports.IMPORT_RUN)
        run_views.register_panel(imports.IMPORT_RUN_KIND, import_views.IMPORT_PANEL)

        # Runs after every app's permissions exist, so each group gets the full set.
        post_migrate.connect(sync_role_permissions, dispatch_uid="sop.sync_role_permissions")
