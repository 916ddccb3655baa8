"""The demo company: realistic generated extracts, and the seed that loads them."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pandas as pd
import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from demand.models import ForecastRun
from sop.choices import JobStatus, Role, Stage
from sop.demo import generate_company
from sop.extracts import ENTITIES, LOAD_ORDER
from sop.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS
from sop.models import Budget, Cycle, ImportJob, Product, SalesHistory
from supply.models import SupplyRun

TODAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def company() -> dict[str, pd.DataFrame]:
    return generate_company(today=TODAY)


def test_every_extract_has_exactly_its_declared_columns(company):
    assert list(company) == list(LOAD_ORDER)
    for name, frame in company.items():
        assert list(frame.columns) == [c.name for c in ENTITIES[name].columns], name
        assert len(frame), name


def test_default_company_has_about_200_skus_in_8_to_12_families(company):
    products = company["products"]
    assert len(products) == 200
    assert products["sku"].is_unique
    assert 8 <= products["family"].nunique() <= 12
    assert set(products["make_or_buy"]) == {"make", "buy"}
    margin = 1 - products["unit_cost"] / products["unit_price"]
    assert margin.between(0.19, 0.61).all()
    assert (products.loc[products["make_or_buy"] == "buy", "supplier_code"] != "").all()


def test_a_fifth_of_the_skus_bring_most_of_the_revenue(company):
    revenue = company["sales_history"].groupby("sku")["revenue"].sum().sort_values()[::-1]
    top = revenue.iloc[: len(revenue) // 5].sum() / revenue.sum()
    assert 0.65 <= top <= 0.92


def test_history_ends_the_month_before_the_cycle_with_whole_non_negative_quantities(company):
    sales = company["sales_history"]
    assert sales["month"].max() == pd.Timestamp("2026-10-01")
    assert sales["month"].min() == pd.Timestamp("2022-11-01")
    assert (sales["quantity"] >= 0).all()
    assert (sales["quantity"] == sales["quantity"].round()).all()
    assert (sales["revenue"] <= sales["quantity"] * 1e6).all()


def test_some_items_are_intermittent_some_new_some_fading_out(company):
    sales = company["sales_history"]
    by_sku = sales.groupby("sku")
    zero_share = by_sku["quantity"].apply(lambda q: (q == 0).mean())
    assert (zero_share > 0.4).mean() >= 0.08  # intermittent: most months without a sale
    first = by_sku["month"].min()
    assert (first > pd.Timestamp("2025-10-01")).any()  # launched within the last year
    products = company["products"].set_index("sku")
    gone = products.index[~products["active"]]
    last_month = sales[sales["month"] == pd.Timestamp("2026-10-01")]
    assert len(gone) and last_month[last_month["sku"].isin(gone)]["quantity"].sum() == 0


def test_seasonal_families_peak_in_their_season(company):
    sales = company["sales_history"].merge(company["products"][["sku", "family"]])
    by_month = sales.groupby(["family", sales["month"].dt.month])["quantity"].sum().unstack()
    assert (
        by_month.loc["Sparkling drinks", [6, 7, 8]].mean()
        > 1.5 * by_month.loc["Sparkling drinks", [12, 1, 2]].mean()
    )
    assert by_month.loc["Seasonal gifts", 12] > 3 * by_month.loc["Seasonal gifts", [5, 6, 7]].mean()
    spread = by_month.max(axis=1) / by_month.min(axis=1)
    assert spread["Snacks"] < spread["Sparkling drinks"]


def test_capacity_binds_in_peak_months_but_not_on_average(company):
    sales = company["sales_history"]
    last_year = sales[sales["month"] >= pd.Timestamp("2025-11-01")]
    hours = last_year.merge(company["routings"], on="sku")
    hours["load"] = hours["quantity"] * hours["hours_per_unit"]
    load = hours.groupby(["resource_code", "month"])["load"].sum()
    capacity = company["capacity"].set_index(["resource_code", "month"])["hours"]
    utilisation = (load / capacity).dropna().unstack()
    assert len(utilisation) >= 4
    assert utilisation.max(axis=1).max() >= 0.9
    assert (
        load.groupby(level=0).sum() / capacity.loc[load.index].groupby(level=0).sum()
    ).max() < 0.9
    horizon = company["capacity"]["month"]
    assert horizon.max() >= pd.Timestamp("2028-04-01")  # the 18-month horizon is covered


def test_stock_receipts_and_budget_belong_to_the_cycle_month(company):
    inventory = company["inventory"]
    # A count on the first day of the cycle month, and one for each past cycle of the demo.
    assert sorted(inventory["date"].unique()) == list(
        pd.to_datetime(["2026-08-01", "2026-09-01", "2026-10-01", "2026-11-01"])
    )
    assert (inventory["date"].value_counts() == inventory["date"].value_counts().iloc[0]).all()
    inventory = inventory[inventory["date"] == pd.Timestamp("2026-11-01")]
    assert (inventory["on_hand"] == 0).any() or (inventory["on_hand"] < 10).any()
    receipts = company["receipts"]
    assert (
        receipts["due_month"].between(pd.Timestamp("2026-11-01"), pd.Timestamp("2027-01-01")).all()
    )
    assert set(receipts["kind"]) == {"purchase", "production"}
    budget = company["budget"]
    assert set(budget["family"]) == set(company["products"]["family"])
    assert budget["month"].min() == pd.Timestamp("2025-11-01")
    assert budget["month"].max() == pd.Timestamp("2028-04-01")


def test_the_same_seed_gives_the_same_company():
    one = generate_company(skus=25, months=24, seed=3, today=TODAY)
    two = generate_company(skus=25, months=24, seed=3, today=TODAY)
    other = generate_company(skus=25, months=24, seed=4, today=TODAY)
    for name in LOAD_ORDER:
        pd.testing.assert_frame_equal(one[name], two[name])
    assert not one["sales_history"].equals(other["sales_history"])


def test_a_company_needs_a_year_of_history():
    with pytest.raises(ValueError, match="12 months"):
        generate_company(months=6, today=TODAY)


@pytest.mark.django_db
def test_seed_demo_loads_the_extracts_through_the_importer_and_opens_the_cycle(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    args = ["--skus", "30", "--months", "24", "--today", "2026-11-23", "--out", str(tmp_path)]
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)

    jobs = ImportJob.objects.all()
    assert sorted(jobs.values_list("entity", flat=True)) == sorted(LOAD_ORDER)
    assert set(jobs.values_list("status", flat=True)) == {JobStatus.SUCCEEDED}
    # The extracts' 30 and the new version of the top seller, forecast from it.
    assert Product.objects.count() == 31
    new = Product.objects.get(like_product__isnull=False)
    assert new.sku == f"{new.like_product.sku}-N"
    assert (new.like_factor, new.launch_ramp_months) == (Decimal("0.8"), 3)
    assert new.launch_month == dt.date(2026, 12, 1)
    assert new.like_product.end_of_life_month == dt.date(2027, 5, 1)
    assert not SalesHistory.objects.filter(product=new).exists()
    assert SalesHistory.objects.count() == jobs.get(entity="sales_history").rows_read
    assert Budget.objects.exists()
    cycle = Cycle.objects.get(month=dt.date(2026, 11, 1))
    assert cycle.month == dt.date(2026, 11, 1)
    assert cycle.stage == Stage.DEMAND_REVIEW
    for username, role in DEMO_USERS.items():
        # Through the sign-in throttle (django-axes), which needs the request.
        user = authenticate(
            RequestFactory().post("/login/"), username=username, password=DEMO_PASSWORD
        )
        assert user is not None, username
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert user.is_staff == (role == Role.ADMIN)
        assert not user.is_superuser
    assert (tmp_path / "sales_history.csv").exists()
    assert DEMO_PASSWORD in out.getvalue()

    # Seeding again upserts the same rows and leaves the open cycle alone.
    call_command("seed_demo", *args, stdout=io.StringIO())
    assert Product.objects.count() == 31
    assert Product.objects.get(like_product__isnull=False).pk == new.pk
    assert ImportJob.objects.filter(status=JobStatus.SUCCEEDED).count() == 2 * len(LOAD_ORDER)
    assert Cycle.objects.get(month=dt.date(2026, 11, 1)).stage == Stage.DEMAND_REVIEW


@pytest.mark.django_db
def test_seed_demo_data_only_loads_the_company_without_past_cycles_or_runs(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    args = ["--skus", "20", "--months", "24", "--today", "2026-11-23", "--out", str(tmp_path)]
    call_command("seed_demo", *args, "--data-only", stdout=io.StringIO())

    assert Product.objects.count() == 20
    assert list(Cycle.objects.values_list("month", "stage")) == [
        (dt.date(2026, 11, 1), Stage.DEMAND_REVIEW)
    ]
    assert not ForecastRun.objects.exists()
    assert not SupplyRun.objects.exists()


def test_the_customer_order_lines_ship_the_last_year_of_sales_mostly_on_time_and_in_full(
    company,
):
    lines = company["customer_order_lines"]
    shipped = lines[lines["shipped_date"].notna()]
    assert lines["requested_date"].min() >= pd.Timestamp("2025-11-01")
    # What shipped is the sales history (less the few backorders still open).
    sales = company["sales_history"]
    year = sales[sales["month"] >= pd.Timestamp("2025-11-01")]["quantity"].sum()
    assert 0.97 * year <= shipped["shipped_quantity"].sum() <= year
    on_time = shipped["shipped_date"] <= shipped["requested_date"]
    in_full = shipped["shipped_quantity"] >= shipped["requested_quantity"]
    assert 0.85 < (on_time & in_full).mean() < 0.97
    # Open lines: backorders of last month and orders asked for after today.
    still_open = lines[lines["shipped_date"].isna()]
    assert (still_open["requested_date"] < pd.Timestamp(TODAY)).any()
    assert (still_open["requested_date"] > pd.Timestamp(TODAY)).sum() == 40
