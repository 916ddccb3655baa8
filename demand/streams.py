"""Input streams (sales, marketing ...) down to the series, and the consensus base. ORM-free.

A stream's entries read as overrides do (a family, SKU or SKU-location total, a quantity or
a percent of the statistical forecast, the most specific scope wins, split by the
statistical forecast with `consensus.split_largest_remainder`): the stream's figure of a
series is what `consensus.consensus_values` makes of the entries. Where the stream has no
entry, it has no opinion and reads as the base.

The base the overrides then apply to is, per family or SKU, the planner's choice
(`ConsensusSource.weights`): the statistical base, a stream, or a weighted mix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from demand.choices import OverrideLevel
from demand.consensus import consensus_values

STATISTICAL = "statistical"
CHOICE_COLUMNS = ["level", "family", "product", "weights"]


def stream_covered(stat: pd.DataFrame, entries: pd.DataFrame) -> np.ndarray:
    """Mask of `stat`'s rows (consensus.STAT_COLUMNS) that one of the entries covers."""
    covered = np.zeros(len(stat), bool)
    if entries.empty or stat.empty:
        return covered
    family = entries[entries["level"] == OverrideLevel.FAMILY]
    covered |= pd.MultiIndex.from_frame(stat[["family", "month"]]).isin(
        pd.MultiIndex.from_frame(family[["family", "month"]])
    )
    sku = entries[entries["level"] == OverrideLevel.PRODUCT]
    covered |= pd.MultiIndex.from_frame(stat[["product", "month"]]).isin(
        pd.MultiIndex.from_frame(sku[["product", "month"]])
    )
    return covered


def stream_series(stat: pd.DataFrame, entries: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The stream's figure for each row of `stat`, and which rows it covers.

    `entries` has the columns of `consensus.OVERRIDE_COLUMNS`. Rows not covered keep the
    base (`stat["statistical"]`).
    """
    return consensus_values(stat, entries), stream_covered(stat, entries)


def consensus_base(
    stat: pd.DataFrame, streams: dict[str, np.ndarray], choices: pd.DataFrame
) -> np.ndarray:
    """The base of each row of `stat` after the planner's source choices.

    `streams` maps a stream's code to its figures per row (`stream_series`); `choices` has
    CHOICE_COLUMNS, `weights` a dict of code -> percent summing to 100. A SKU's choice wins
    over its family's; a row without a choice keeps the statistical base. A stream with no
    figures here (inactive, nothing entered) reads as the statistical base.
    """
    base = stat["statistical"].to_numpy(float)
    out = base.copy()
    if choices.empty or stat.empty:
        return out
    family = stat["family"].to_numpy()
    product = stat["product"].to_numpy()
    # Family choices first, so a SKU's choice overwrites its rows.
    ordered = choices.assign(_rank=(choices["level"] == OverrideLevel.PRODUCT).astype(int))
    for choice in ordered.sort_values("_rank", kind="stable").itertuples():
        if choice.level == OverrideLevel.FAMILY:
            mask = family == choice.family
        else:
            mask = product == choice.product
        if not mask.any():
            continue
        mix = np.zeros(int(mask.sum()))
        for code, share in choice.weights.items():
            figures = base if code == STATISTICAL else streams.get(code, base)
            mix += float(share) / 100 * figures[mask]
        out[mask] = mix
    return out
