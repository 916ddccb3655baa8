"""Phase-out before an end of life, on a hand-checked SKU: the safety stock runs down over
LT + RP months, nothing is planned from the end-of-life month on, firm receipts stay."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from supply.projection import after_end_of_life, phase_out_targets, plan_supply
from tests.supply.test_projection import make_inputs

# Lead time 2 months + 1 review month: E = 3. Target service 90 % (unclassified SKUs),
# sigma_d chosen so that SS = z * sigma_d * sqrt(3) = 90 exactly.
LEAD, EXPOSURE, SS = 2.0, 3.0, 90.0
SIGMA = SS / (norm.ppf(0.90) * np.sqrt(EXPOSURE))
END = 6  # sold in months 0..5, nothing from month 6 on


def four_skus():
    """100 a month in months 0..5 for all; the last keeps selling (no end of life).

    0 SHORT: 250 on hand + 50 due in month 1, 600 to sell: the plan fills the gap.
    1 LONG: 500 on hand + 200 due in month 3: 100 more than it will sell.
    2 LATE: as SHORT, plus a firm 80 due in the end-of-life month itself.
    3 ONGOING: as SHORT, but no end of life and 100 a month to the horizon.
    """
    demand = np.array([[100.0] * END + [0.0, 0.0]] * 3 + [[100.0] * 8])
    receipts = np.zeros((4, 8))
    receipts[[0, 2, 3], 1] = 50
    receipts[1, 3] = 200
    receipts[2, END] = 80
    return make_inputs(
        demand,
        on_hand=np.array([250.0, 500.0, 250.0, 250.0]),
        receipts=receipts,
        demand_error_std=np.full(4, SIGMA),
        lead_time_months=np.full(4, LEAD),
        end_of_life=np.array([END, END, END, np.nan]),
    )


def test_the_target_runs_down_over_the_exposure_before_the_end():
    targets = phase_out_targets(
        safety_stock=np.array([90.0, 90.0, 90.0, 90.0, 90.0]),
        exposure_months=np.array([3.0, 3.0, 3.0, 3.0, 0.0]),
        end_of_life=np.array([6, np.nan, -3, 10, 3]),
        months=8,
    )
    np.testing.assert_allclose(
        targets,
        [
            # Months still sold after month t: 5, 4, 3 (full), 2, 1, 0, then none.
            [90, 90, 90, 60, 30, 0, 0, 0],
            # No end of life: the policy's SS in every month.
            [90] * 8,
            # Ended before the cycle: nothing to guard.
            [0] * 8,
            # Ends past the horizon (month 10): the run-down starts in month 7, 2/3.
            [90, 90, 90, 90, 90, 90, 90, 60],
            # No exposure (made at once, reviewed continuously): SS until month 1, the
            # second-last month sold, none from the last.
            [90, 90, 0, 0, 0, 0, 0, 0],
        ],
    )
    closed = after_end_of_life(np.array([6, np.nan, -3]), 8)
    assert closed.tolist() == [[False] * 6 + [True] * 2, [False] * 8, [True] * 8]


def test_a_phased_out_sku_is_run_down_and_leaves_only_what_it_could_not_sell():
    result = plan_supply(four_skus())
    assert result.safety_stock == pytest.approx([SS] * 4)
    np.testing.assert_allclose(result.safety_stock_target[0], [90, 90, 90, 60, 30, 0, 0, 0])
    np.testing.assert_allclose(result.safety_stock_target[3], [90] * 8)
    # SHORT: frozen months 0-1 close at 150 and 100; from month 2 on the net requirement
    # is target + 100 - opening: 90+100-100 = 90, 60+100-90 = 70, 30+100-60 = 70,
    # 0+100-30 = 70; nothing from month 6 on.
    np.testing.assert_allclose(result.planned[0], [0, 0, 90, 70, 70, 70, 0, 0])
    np.testing.assert_allclose(result.on_hand[0], [150, 100, 90, 60, 30, 0, 0, 0])
    # LONG sells its own stock: 400, 300, 200, +200 = 300, 200, 100, then 100 left.
    np.testing.assert_allclose(result.planned[1], [0] * 8)
    np.testing.assert_allclose(result.on_hand[1], [400, 300, 200, 300, 200, 100, 100, 100])
    # LATE plans as SHORT; the firm 80 still arrives in month 6 and is all excess.
    np.testing.assert_allclose(result.planned[2], result.planned[0])
    np.testing.assert_allclose(result.on_hand[2, END:], [80, 80])
    np.testing.assert_allclose(result.excess_quantity[2, END:], [80, 80])
    # ONGOING keeps 90 to the horizon: 90, then 100 a month.
    np.testing.assert_allclose(result.planned[3], [0, 0, 90, 100, 100, 100, 100, 100])
    np.testing.assert_allclose(result.on_hand[3, 2:], [90] * 6)
    # Stock left at the end of life (close of month 6) = max(on hand + firm receipts due
    # before the end - demand to the end, 0) + firm receipts due from the end on.
    left = result.on_hand[:3, END]
    expected = [max(250 + 50 - 600, 0), max(500 + 200 - 600, 0), max(250 + 50 - 600, 0) + 80]
    np.testing.assert_allclose(left, expected)  # 0, 100, 80
    # Order up to: the next 3 months' demand (300) plus the month-0 target.
    assert result.order_up_to == pytest.approx([300 + SS] * 4)
    # Nothing is lost: the run-down ends exactly at the last sale.
    assert result.unmet.sum() == pytest.approx(0)


def test_without_the_phase_out_the_safety_stock_would_be_left_over():
    inputs = four_skus()
    ended = plan_supply(inputs)
    kept = plan_supply(
        make_inputs(
            inputs.demand,
            on_hand=inputs.on_hand,
            receipts=inputs.receipts,
            demand_error_std=inputs.demand_error_std,
            lead_time_months=inputs.lead_time_months,
        )
    )
    # Without an end of life SHORT is topped up to 90 to the end: 90 left, 90 more bought.
    assert kept.on_hand[0, END] == pytest.approx(SS)
    assert kept.planned[0].sum() - ended.planned[0].sum() == pytest.approx(SS)
    assert ended.on_hand[0, END] == pytest.approx(0)


def test_an_end_inside_the_exposure_lowers_the_order_up_to_level():
    # Sold in months 0 and 1 only: the month-0 target is 1/3 of SS (one of three months
    # still sold after month 0), the order-up-to level 100 + 100 + 0 + 30.
    inputs = make_inputs(
        [[100.0, 100.0, 0.0, 0.0]],
        on_hand=np.array([300.0]),
        demand_error_std=np.array([SIGMA]),
        lead_time_months=np.array([LEAD]),
        end_of_life=np.array([2.0]),
    )
    result = plan_supply(inputs)
    np.testing.assert_allclose(result.safety_stock_target, [[30, 0, 0, 0]])
    assert result.order_up_to == pytest.approx([230])
    np.testing.assert_allclose(result.planned, [[0, 0, 0, 0]])
    np.testing.assert_allclose(result.on_hand, [[200, 100, 100, 100]])


def test_an_end_of_life_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="end_of_life"):
        make_inputs([[1.0, 2.0]], end_of_life=np.array([1.0, 2.0]))
