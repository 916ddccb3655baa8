"""Computing a chunk's plan and writing its rows into the run, all of them or the changed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sop.services import bulk_insert_frame
from supply.choices import SafetyStockMethod
from supply.constants import PROJECTION_FIELDS
from supply.models import CapacityLoad, InventoryProjection, SourceSplit, StockTarget
from supply.projection import SupplyProjection, plan_supply
from supply.services.inputs import Loaded, id_in, rows_frame, supply_policy


def _plan_hashes(grid: pd.DataFrame, n: int, sourcing: np.ndarray | None = None) -> np.ndarray:
    """One int64 per SKU-location over its monthly rows (in `grid`'s i-major order), and
    over its split by source (`_sourcing_grid`) where it has alternates."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    columns = [grid[name].to_numpy(float).reshape(n, -1) for name in PROJECTION_FIELDS]
    if sourcing is not None:
        columns.append(sourcing)
    values = np.hstack(columns).round(6)
    hashes = pd.util.hash_pandas_object(pd.DataFrame(values), index=False).to_numpy()
    return hashes.view(np.int64)


def _stale_products(*, run_id: int, loaded: Loaded, hashes: np.ndarray) -> np.ndarray:
    """Products whose stored plan in the run differs from the new one (one query).

    A recompute after an edit changes the plan of a few SKUs of a group that may hold
    thousands; rewriting only those keeps the edit fast.
    """
    index = loaded.inputs.keys
    products = index.get_level_values("product")
    stored = rows_frame(
        StockTarget.objects.filter(
            id_in("product_id", products.unique()), run_id=run_id
        ).values_list("product_id", "location_id", "plan_hash"),
        ["product", "location", "hash"],
    )
    row = index.get_indexer(pd.MultiIndex.from_frame(stored[["product", "location"]]))
    known = row >= 0
    old = np.zeros(len(index), dtype=np.int64)
    present = np.zeros(len(index), dtype=bool)
    old[row[known]] = stored["hash"].to_numpy(np.int64)[known]
    present[row[known]] = True
    same = present & (old == hashes)
    # Stored keys the plan no longer has (their stock or demand is gone) go too.
    gone = stored.loc[~known, "product"].unique()
    return np.union1d(products[~same].unique(), gone).astype(np.int64)


def _sourcing_grid(result: SupplyProjection) -> np.ndarray | None:
    """n x T: each SKU's alternate supply weighted by its sources' ids, None without any.

    The totals alone hide a move from one alternate to another; this sum does not.
    """
    sources = result.inputs.alternates
    if sources is None:
        return None
    weighted = np.zeros_like(result.planned)
    ids = sources.labels.to_numpy(float)[:, None]
    np.add.at(weighted, sources.sku, result.alternate_supply * ids)
    return weighted


def _splits(result: SupplyProjection) -> pd.DataFrame:
    """The run's source-split rows of the plan (`SourceSplit`)."""
    split = result.source_split()
    split = split.rename(
        columns={"product": "product_id", "location": "location_id", "source": "source_id"}
    )
    return split[["product_id", "location_id", "month", "source_id", "quantity", "extra_cost"]]


def _safety_stock_method(*, from_quantiles: np.ndarray, from_forecast: np.ndarray) -> np.ndarray:
    """Which way each SKU-location's safety stock was set, as `SafetyStockMethod` values."""
    return np.select(
        [from_quantiles, from_forecast],
        [SafetyStockMethod.QUANTILES, SafetyStockMethod.NORMAL],
        SafetyStockMethod.SALES,
    )


def write_results(
    *, run_id: int, loaded: Loaded, resource_ids: Sequence[int], only_changed: bool = False
) -> int:
    """Compute the plan of a chunk or group and store its rows in the run.

    The group's old rows are replaced; with `only_changed`, only those of the products
    whose plan differs. Returns the SKU-locations written.
    """
    result = plan_supply(loaded.inputs, supply_policy())
    grid = result.sku_months().rename(columns={"product": "product_id", "location": "location_id"})
    grid["firm"] = loaded.firm.ravel()
    keys = loaded.inputs.keys.to_frame(index=False)
    months = np.array(loaded.months, dtype=object)
    targets = pd.DataFrame(
        {
            "product_id": keys["product"].to_numpy(),
            "location_id": keys["location"].to_numpy(),
            "service_level": result.service_level,
            # What the plan keeps now: the policy's, run down before an end of life.
            "safety_stock": result.safety_stock_target[:, 0],
            "safety_stock_method": _safety_stock_method(
                from_quantiles=result.safety_stock_from_quantiles,
                from_forecast=loaded.error_from_forecast,
            ),
            "order_up_to": result.order_up_to,
            "demand_error_std": loaded.inputs.demand_error_std,
            "error_from_forecast": loaded.error_from_forecast,
            "lead_time_months": loaded.inputs.lead_time_months,
            "lead_time_std_months": loaded.inputs.lead_time_std_months,
            # A lead time beyond the horizon is stored as its last month.
            "first_month": months[np.minimum(result.first_month, len(months) - 1)],
            "plan_hash": _plan_hashes(grid, len(keys), _sourcing_grid(result)),
        }
    )
    splits = _splits(result)
    if only_changed:
        products = _stale_products(run_id=run_id, loaded=loaded, hashes=targets["plan_hash"])
        grid = grid[grid["product_id"].isin(products)]
        targets = targets[targets["product_id"].isin(products)]
        splits = splits[splits["product_id"].isin(products)]
    else:
        products = keys["product"].unique()
    InventoryProjection.objects.filter(id_in("product_id", products), run_id=run_id).delete()
    StockTarget.objects.filter(id_in("product_id", products), run_id=run_id).delete()
    SourceSplit.objects.filter(id_in("product_id", products), run_id=run_id).delete()
    CapacityLoad.objects.filter(run_id=run_id, resource_id__in=list(resource_ids)).delete()
    grid.insert(0, "run_id", run_id)
    bulk_insert_frame(InventoryProjection, grid)
    targets.insert(0, "run_id", run_id)
    bulk_insert_frame(StockTarget, targets)
    splits.insert(0, "run_id", run_id)
    bulk_insert_frame(SourceSplit, splits)
    loads = (
        result.resource_months()
        .rename(columns={"resource": "resource_id"})
        .drop(columns=["utilisation"])
    )
    loads.insert(0, "run_id", run_id)
    bulk_insert_frame(CapacityLoad, loads)
    return len(targets)
