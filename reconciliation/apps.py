from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "reconciliation"

    def ready(self) -> None:
        from reconciliation.step import STEP
        from sop.steps import register_step

        register_step(STEP)
