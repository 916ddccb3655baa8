from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "reconciliation"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from reconciliation import selectors, services, signals, views
        from sop import run_views, runs, workflow
        from sop.choices import Stage
        from sop.models import CycleTransition

        runs.register(services.SCENARIO_RUN)
        run_views.register_panel(services.SCENARIO_RUN.name, views.RUN_PANEL)
        workflow.register_gate(Stage.RECONCILIATION)(selectors.reconciliation_gate)
        post_save.connect(
            signals.on_cycle_transition,
            sender=CycleTransition,
            dispatch_uid="reconciliation.on_cycle_transition",
        )
