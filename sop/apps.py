from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SopConfig(AppConfig):
    name = "sop"
    verbose_name = "S&OP core"

    def ready(self) -> None:
        from sop.roles import sync_role_permissions

        # Runs after every app's permissions exist, so each group gets the full set.
        post_migrate.connect(sync_role_permissions, dispatch_uid="sop.sync_role_permissions")
