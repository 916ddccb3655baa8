from django.apps import AppConfig


class SupplyConfig(AppConfig):
    name = "supply"

    def ready(self) -> None:
        from sop import run_views, runs
        from sop.steps import register_step
        from supply import services, views
        from supply.step import STEP

        register_step(STEP)
        runs.register(services.SUPPLY_RUN)
        run_views.register_panel(services.SUPPLY_RUN.name, views.RUN_PANEL)
