from django.apps import AppConfig


class DemandConfig(AppConfig):
    name = "demand"

    def ready(self) -> None:
        from demand.step import STEP
        from sop.steps import register_step

        register_step(STEP)
