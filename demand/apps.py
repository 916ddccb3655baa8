from django.db.models.signals import post_migrate

from sop import steps


class DemandConfig(steps.StepConfig):
    name = "demand"

    def ready(self) -> None:
        super().ready()
        from demand.streams_defaults import streams_ensure

        # After every migrate (and every flush, which empties the tables a data migration
        # filled), the sales and marketing streams exist.
        post_migrate.connect(streams_ensure, sender=self, dispatch_uid="demand.streams_ensure")
