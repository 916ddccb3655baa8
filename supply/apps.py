from django.apps import AppConfig


class SupplyConfig(AppConfig):
    name = "supply"

    def ready(self) -> None:
        from sop import run_views, runs, workflow
        from sop.choices import Stage
        from supply import selectors, services, views

        runs.register(services.SUPPLY_RUN)
        run_views.register_panel(services.SUPPLY_RUN.name, views.RUN_PANEL)

        workflow.register_gate(Stage.SUPPLY_REVIEW)(selectors.supply_gate)
