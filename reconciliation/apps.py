from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "reconciliation"

    def ready(self) -> None:
        from reconciliation import services, views
        from reconciliation.step import STEP
        from sop import run_views, runs
        from sop.steps import register_step

        register_step(STEP)
        runs.register(services.SCENARIO_RUN)
        run_views.register_panel(services.SCENARIO_RUN.name, views.RUN_PANEL)
