from django.apps import AppConfig


class DemandConfig(AppConfig):
    name = "demand"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from demand import selectors, services, signals, views
        from sop import run_views, runs, workflow
        from sop.choices import Stage
        from sop.models import CycleTransition

        runs.register(services.FORECAST_RUN)
        run_views.register_panel(services.FORECAST_RUN.name, views.RUN_PANEL)
        workflow.register_gate(Stage.DEMAND_REVIEW)(selectors.forecast_gate)
        post_save.connect(
            signals.on_cycle_transition,
            sender=CycleTransition,
            dispatch_uid="demand_on_cycle_transition",
        )
