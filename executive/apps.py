from sop import steps


class ExecutiveConfig(steps.StepConfig):
    name = "executive"

    def ready(self) -> None:
        from django.db.models.signals import pre_delete

        from executive import signals
        from sop.models import Cycle

        super().ready()
        # A database concern, not a workflow one: whoever deletes an approved cycle (the
        # admin, a cascade, a shell), its frozen rows may go with it; see the receiver.
        pre_delete.connect(
            signals.on_cycle_delete, sender=Cycle, dispatch_uid="executive.on_cycle_delete"
        )
