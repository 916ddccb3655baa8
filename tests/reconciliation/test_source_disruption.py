"""A supplier or resource unavailable for some months: the plan reroutes to the alternates."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from reconciliation.scenarios import (
    PlanLabels,
    SourceDelta,
    deltas_from_json,
    deltas_to_json,
    run_scenario,
    source_volumes,
)
from supply.projection import Policy, SupplyInputs
from supply.sourcing import AlternateSources

JAN, FEB, MAR, APR = (dt.date(2027, month, 1) for month in range(1, 5))


def make_plan() -> tuple[SupplyInputs, PlanLabels]:
    """Two SKUs, four months, no stock, lead times or safety stock.

    s0: bought from S1 (not capacity-bound), 10 a month, cost 6; alternate S2 (6 a month,
    cost 8). s1: made on R1 (1 h a unit, 20 h a month), 20 a month, cost 6; alternate the
    resource R2 (15 a month, cost 5).
    """
    inputs = SupplyInputs(
        on_hand=np.zeros(2),
        receipts=np.zeros((2, 4)),
        demand=np.array([[10.0] * 4, [20.0] * 4]),
        demand_error_std=np.zeros(2),
        lead_time_months=np.zeros(2),
        lead_time_std_months=np.zeros(2),
        abc_class=np.array(["A", "B"], dtype=object),
        unit_cost=np.array([6.0, 6.0]),
        unit_price=np.array([10.0, 10.0]),
        moq=np.zeros(2),
        lot_size=np.zeros(2),
        hours_per_unit=np.array([[0.0], [1.0]]),
        capacity=np.full((1, 4), 20.0),
        months=pd.Index([JAN, FEB, MAR, APR], name="month"),
        alternates=AlternateSources(
            sku=np.array([0, 1]),
            pool=np.array([0, 1]),
            priority=np.array([1, 1]),
            unit_cost=np.array([8.0, 5.0]),
            lead_time_months=np.zeros(2),
            capacity=np.array([[6.0] * 4, [15.0] * 4]),
            labels=pd.Index([101, 102], name="source"),
            pools=pd.MultiIndex.from_tuples([("supplier", "S2"), ("resource", "R2")]),
        ),
    )
    meta = PlanLabels(
        family=["F", "F"], product=["s0", "s1"], supplier=["S1", None], resources=["R1"]
    )
    return inputs, meta


def scenario(*deltas):
    inputs, meta = make_plan()
    return run_scenario(inputs, Policy(), list(deltas), meta)


def test_without_a_disruption_every_unit_comes_from_the_primary():
    result = scenario()
    np.testing.assert_allclose(result.projection.planned, [[10] * 4, [20] * 4])
    assert (result.kpis["alternate_units"], result.kpis["alternate_extra_cost"]) == (0, 0)
    volumes = source_volumes(result.projection)
    assert volumes.to_dict("records") == [
        {"kind": "primary", "code": "", "units": 120.0, "extra_cost": 0.0}
    ]


def test_a_supplier_out_for_two_months_reroutes_to_the_alternate_up_to_its_capacity():
    result = scenario(SourceDelta(supplier="S1", start=FEB, end=MAR))
    plan = result.projection
    np.testing.assert_allclose(plan.planned[0], [10, 6, 6, 10])
    np.testing.assert_allclose(plan.shortage[0], [0, 4, 4, 0])
    np.testing.assert_allclose(plan.unmet[0], [0, 4, 4, 0])
    # 12 units at 8 instead of 6.
    assert (result.kpis["alternate_units"], result.kpis["alternate_extra_cost"]) == (12, 24)
    assert source_volumes(plan).to_dict("records") == [
        {"kind": "primary", "code": "", "units": 100.0, "extra_cost": 0.0},
        {"kind": "supplier", "code": "S2", "units": 12.0, "extra_cost": 24.0},
    ]


def test_a_resource_out_for_a_month_is_cut_and_the_cheaper_alternate_fills_it():
    result = scenario(SourceDelta(resource="R1", start=MAR, end=MAR))
    plan = result.projection
    # No room to pre-build (R1 is full every month): March's 20 are cut, R2 gives 15.
    np.testing.assert_allclose(plan.planned[1], [20, 20, 15, 20])
    np.testing.assert_allclose(plan.shortage[1], [0, 0, 5, 0])
    assert result.kpis["alternate_extra_cost"] == -15  # 15 x (5 - 6)
    assert result.inputs.capacity[0].tolist() == [20, 20, 0, 20]


def test_an_alternate_out_too_leaves_the_shortage_in_its_months():
    result = scenario(
        SourceDelta(supplier="S1", start=FEB, end=MAR),
        SourceDelta(supplier="S2", start=FEB, end=FEB),
    )
    np.testing.assert_allclose(result.projection.planned[0], [10, 0, 6, 10])
    np.testing.assert_allclose(result.projection.unmet[0], [0, 10, 4, 0])


def test_the_base_inputs_are_left_as_they_were():
    inputs, meta = make_plan()
    run_scenario(inputs, Policy(), [SourceDelta(supplier="S2", start=JAN, end=APR)], meta)
    assert inputs.primary_unavailable is None
    assert inputs.alternates.capacity[0].tolist() == [6] * 4


def test_a_source_delta_names_a_supplier_or_a_resource_and_survives_json():
    with pytest.raises(ValueError, match="one of the two"):
        SourceDelta(supplier="S1", resource="R1", start=FEB, end=MAR)
    with pytest.raises(ValueError, match="one of the two"):
        SourceDelta(start=FEB, end=MAR)
    delta = SourceDelta(supplier="S1", start=FEB, end=MAR)
    assert deltas_from_json(json.loads(json.dumps(deltas_to_json([delta])))) == [delta]
