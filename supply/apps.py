from django.apps import AppConfig


class SupplyConfig(AppConfig):
    name = "supply"

    def ready(self) -> None:
        from sop import workflow
        from sop.choices import Stage
        from supply import selectors

        workflow.register_gate(Stage.SUPPLY_REVIEW)(selectors.supply_gate)
