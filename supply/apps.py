from django.apps import AppConfig


class SupplyConfig(AppConfig):
    name = "supply"

    def ready(self) -> None:
        from sop.steps import register_step
        from supply.step import STEP

        register_step(STEP)
