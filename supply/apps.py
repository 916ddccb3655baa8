from sop import steps


class SupplyConfig(steps.StepConfig):
    name = "supply"
