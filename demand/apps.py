from sop import steps


class DemandConfig(steps.StepConfig):
    name = "demand"
