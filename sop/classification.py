"""ABC/XYZ classification of products, ORM-free.

ABC ranks products by revenue over the window (Pareto): the products making the first 80%
of revenue are A, the next 15% B, the rest C. XYZ grades how steady monthly demand is by
its coefficient of variation (std / mean over the window, all locations together): up to
0.5 is X, up to 1.0 Y, above Z. These are the textbook thresholds; they are arguments so a
company can set its own. A product with no sales in the window is C and Z.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def classify_abc_xyz(
    sales: pd.DataFrame,
    *,
    products: pd.Index,
    months: pd.DatetimeIndex,
    a_share: float = 0.80,
    b_share: float = 0.95,
    x_cv: float = 0.5,
    y_cv: float = 1.0,
) -> pd.DataFrame:
    """Classify `products` from `sales` (product, month, quantity, revenue) over `months`.

    Returns a frame indexed by product with columns abc, xyz, revenue, cv.
    """
    if not 0 < a_share < b_share <= 1:
        raise ValueError("need 0 < a_share < b_share <= 1")
    window = sales[sales["month"].isin(months)]
    grid = (
        window.pivot_table(index="product", columns="month", values="quantity", aggfunc="sum")
        .reindex(index=products, columns=months)
        .fillna(0.0)
    )
    revenue = window.groupby("product")["revenue"].sum().reindex(products).fillna(0.0)

    order = revenue.sort_values(ascending=False, kind="stable")
    total = order.sum()
    # A product is A while the revenue before it is under the A share, so the product that
    # crosses the threshold is A too (the usual reading of "the items making 80%").
    before = (order.cumsum() - order) / total if total > 0 else order * 0 + 1.0
    abc = pd.Series(
        np.select([before < a_share, before < b_share], ["A", "B"], "C"), index=order.index
    )
    abc[order <= 0] = "C"

    values = grid.to_numpy()
    mean = values.mean(axis=1)
    std = values.std(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = np.where(mean > 0, std / mean, np.inf)
    xyz = np.select([cv <= x_cv, cv <= y_cv], ["X", "Y"], "Z")

    return pd.DataFrame(
        {
            "abc": abc.reindex(products).to_numpy(),
            "xyz": xyz,
            "revenue": revenue.to_numpy(),
            "cv": cv,
        },
        index=products,
    )
