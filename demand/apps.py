from django.apps import AppConfig


class DemandConfig(AppConfig):
    name = "demand"

    def ready(self) -> None:
        from demand import services, views
        from demand.step import STEP
        from sop import run_views, runs
        from sop.steps import register_step

        register_step(STEP)
        runs.register(services.FORECAST_RUN)
        run_views.register_panel(services.FORECAST_RUN.name, views.RUN_PANEL)
