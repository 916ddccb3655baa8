from django.apps import AppConfig


class ExecutiveConfig(AppConfig):
    name = "executive"

    def ready(self) -> None:
        from django.db.models.signals import post_save, pre_delete

        from executive import signals
        from sop.models import Cycle, CycleTransition

        post_save.connect(
            signals.on_cycle_transition,
            sender=CycleTransition,
            dispatch_uid="executive.on_cycle_transition",
        )
        pre_delete.connect(
            signals.on_cycle_delete, sender=Cycle, dispatch_uid="executive.on_cycle_delete"
        )
