from sop import steps


class ReconciliationConfig(steps.StepConfig):
    name = "reconciliation"
