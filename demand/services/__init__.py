"""Writes of the demand app, one module per concern; the public names are re-exported here.

`runs` (forecast runs and the one-SKU re-forecast), `consensus` (the consensus plan),
`overrides` (planners' overrides and their carry-over), `freeze` (the frozen plan);
`_common` holds what they share. The demo builder is `demand.demo`.
"""

from __future__ import annotations

from demand.services._common import PlanReadOnly
from demand.services.consensus import consensus_rebuild
from demand.services.freeze import demand_plan_freeze
from demand.services.overrides import override_save, overrides_carry_over
from demand.services.runs import (
    FORECAST_RUN,
    FORECASTABLE_STAGES,
    KEPT,
    forecast_run_cancel,
    forecast_run_start,
    forecast_sku_refresh,
)
from demand.services.streams import (
    consensus_source_save,
    stream_entry_save,
    streams_carry_over,
)

__all__ = [
    "FORECASTABLE_STAGES",
    "FORECAST_RUN",
    "KEPT",
    "PlanReadOnly",
    "consensus_rebuild",
    "consensus_source_save",
    "demand_plan_freeze",
    "forecast_run_cancel",
    "forecast_run_start",
    "forecast_sku_refresh",
    "override_save",
    "overrides_carry_over",
    "stream_entry_save",
    "streams_carry_over",
]
