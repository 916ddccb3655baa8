import numpy as np
import pytest

from demand import intermittent as im
from demand.forecasting import QUANTILE_LEVELS, forecast_series

# Sales of 3, 6 and 3 in months 1, 4 and 9 of a year: 4 months per sale.
SPARSE = np.array([3.0, 0, 0, 6, 0, 0, 0, 0, 3, 0, 0, 0])


def test_croston_forecasts_the_true_rate_of_a_regular_part():
    y = np.tile([5.0, 0, 0], 12)

    assert im.croston(y) == pytest.approx(5 / 3)
    assert im.croston(y, kind="sba") == pytest.approx(5 / 3 * 0.95)


def test_croston_and_sba_smooth_sizes_and_intervals_from_the_months_per_sale():
    # size 3 -> 3.3 -> 3.27; interval 4 -> 3.9 -> 4.01 (gaps of 3 and 5 months)
    assert im.mean_interval(SPARSE) == 4.0
    assert im.croston(SPARSE) == pytest.approx(3.27 / 4.01)
    assert im.croston(SPARSE, kind="sba") == pytest.approx(0.95 * 3.27 / 4.01)


def test_tsb_probability_decays_every_month_without_a_sale():
    prob, size = im.tsb(SPARSE)

    # p starts at 3/12 and moves 10% toward each month's 0/1; size 4 -> 3.9 -> 4.11 -> 3.999
    expected = 0.9**12 * 0.25 + 0.1 * (0.9**11 + 0.9**8 + 0.9**3)
    assert prob == pytest.approx(expected)
    assert size == pytest.approx(3.999)
    # A year more without a sale: p starts at 3/24 and ends 0.9^12 lower than it would.
    later = 0.9**24 * 0.125 + 0.1 * (0.9**23 + 0.9**20 + 0.9**15)
    assert im.tsb(np.r_[SPARSE, np.zeros(12)])[0] == pytest.approx(later)
    assert later < 0.25 * prob


def test_aggregation_drops_the_oldest_months_that_do_not_fill_a_bucket():
    assert im.aggregate(np.array([1.0, 2, 3, 4, 5]), 2).tolist() == [5.0, 9.0]


def test_adida_and_imapa_on_a_part_selling_every_other_month():
    y = np.tile([0.0, 4.0], 4)

    # Two-month buckets are all 4: ADIDA's rate is 2. Monthly, SES starts at 0 and its
    # squared error is least at alpha 0.225 (48.15, against 51.80 at 0.1 and 48.97 at
    # 0.3), where the level ends at 1.96025.
    assert im.adida(y) == pytest.approx(2.0)
    assert im.ses_optimised(y) == pytest.approx(1.96025, abs=1e-5)
    assert im.imapa(y) == pytest.approx((1.96025 + 2.0) / 2, abs=1e-5)


def test_combination_is_the_shaded_mean_of_its_members():
    out = im.members(SPARSE)
    prob, _ = im.tsb(SPARSE)

    mean = np.mean([out[k] for k in ("imapa", "adida", "tsb", "ses")])
    assert out["combined"] == pytest.approx(mean * (2 * prob) ** im.SHADE_POWER)
    assert out["combined"] < mean


def test_engine_does_not_over_forecast_a_regular_intermittent_part():
    fc = forecast_series(np.r_[np.zeros(5), np.tile([5.0, 0, 0], 12)], horizon=6)

    assert fc.model == "comb(imapa,adida,tsb,ses)"
    assert 0.8 * 5 / 3 < fc.point[0] <= 5 / 3


def test_engine_keeps_the_zeros_before_the_first_sale_of_an_intermittent_part():
    y = np.r_[np.zeros(24), 4.0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0]

    fc = forecast_series(y, horizon=6)

    assert fc.point[0] < 8 / 36 * 1.2


# --- quantiles --------------------------------------------------------------------------


def simulated(n: int, seed: int) -> np.ndarray:
    """Sales in 40% of months, sizes uniform on 1..19: mean 4, monthly std exactly 6."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random(n) < 0.4, rng.integers(1, 20, n), 0).astype(float)


def test_quantiles_match_simulated_intermittent_demand_of_known_spread():
    history = simulated(240, 3)
    marginal, cum = im.intermittent_quantiles(history, 4.0, 12, QUANTILE_LEVELS)

    # True monthly quantiles: 60% zeros, then sizes; 80% -> size median 10, 95% -> 17.
    assert marginal[0.8][0] == pytest.approx(10, abs=2)
    assert marginal[0.95][0] == pytest.approx(17, abs=2)
    future = simulated(12 * 20_000, 4).reshape(-1, 12).cumsum(axis=1)
    for q in (0.8, 0.95):
        truth = np.quantile(future[:, [0, 5, 11]], q, axis=0)
        assert cum[q][[0, 5, 11]] == pytest.approx(truth, rel=0.12, abs=1)
    # A normal band with the true std would need 4 + 1.645 * 6 = 13.9 at 95% in a month.
    assert marginal[0.95][0] > 13.9


def test_quantiles_are_non_negative_monotone_and_cumulative_at_least_marginal():
    marginal, cum = im.intermittent_quantiles(simulated(48, 5), 3.5, 18, QUANTILE_LEVELS)

    for table in (marginal, cum):
        stacked = np.array([table[q] for q in QUANTILE_LEVELS])
        assert (stacked >= 0).all()
        assert (np.diff(stacked, axis=0) >= 0).all()
    for q in QUANTILE_LEVELS:
        assert (cum[q][1:] >= marginal[q][1:]).all()
        assert (np.diff(cum[q]) >= 0).all()


def test_lower_quantiles_are_zero_when_most_months_are_zero():
    marginal, _ = im.intermittent_quantiles(SPARSE, im.croston(SPARSE), 6, QUANTILE_LEVELS)

    assert all((marginal[q] == 0).all() for q in QUANTILE_LEVELS if q <= 0.5)
    assert (marginal[0.99] > 0).all()


def test_quantiles_are_reproducible_and_zero_without_sales():
    first = im.intermittent_quantiles(SPARSE, 1.0, 6, QUANTILE_LEVELS)
    again = im.intermittent_quantiles(SPARSE, 1.0, 6, QUANTILE_LEVELS)
    marginal, cum = im.intermittent_quantiles(np.zeros(12), 0.0, 6, QUANTILE_LEVELS)

    assert all(np.array_equal(first[1][q], again[1][q]) for q in QUANTILE_LEVELS)
    assert all(not cum[q].any() and not marginal[q].any() for q in QUANTILE_LEVELS)


def test_the_engine_gives_intermittent_series_the_quantiles_of_their_sales_process():
    rng = np.random.default_rng(11)
    y = np.where(rng.random(48) < 0.3, rng.integers(1, 9, 48), 0).astype(float)
    fc = forecast_series(y, horizon=6)
    assert fc.uncertainty == "intermittent"
    # Most months have no sale, so the 80% band starts at zero, and a sale is whole.
    assert np.all(fc.lower[80] == 0)
    assert np.all(fc.upper[80] >= 1)
    _, cumulative = im.intermittent_quantiles(y, fc.point, 6, [0.9])
    assert np.array_equal(fc.cum_quantiles[0.9], cumulative[0.9])
    assert fc.error_std == pytest.approx(im.demand_std(y, fc.point))


def test_demand_std_is_that_of_a_sale_in_half_the_months():
    # Sales of 2 and 4 (mean 3), forecast 1.5 a month: a sale in half the months.
    # E[D^2] = 0.5 * (4 + 16) / 2 = 5, so the variance is 5 - 1.5^2 = 2.75.
    y = np.array([0, 2, 0, 4, 0, 0], float)
    assert im.demand_std(y, np.full(3, 1.5)) == pytest.approx(np.full(3, np.sqrt(2.75)))
