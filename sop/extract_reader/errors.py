"""How reading and validating report a problem: (row, column, value, reason) rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

ERROR_COLUMNS = ["row", "column", "value", "reason"]


class ExtractRefused(Exception):
    """The file cannot be read as a table of this entity; `errors` says why."""

    def __init__(self, errors: pd.DataFrame):
        self.errors = errors
        super().__init__(f"{len(errors)} error(s)")


def error_frame(rows, column, values, reason) -> pd.DataFrame:
    """Errors for many rows at once; scalars are broadcast."""
    rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
    frame = pd.DataFrame({"row": rows})
    frame["column"] = column
    frame["value"] = values if not np.isscalar(values) else [values] * len(rows)
    frame["reason"] = reason if np.isscalar(reason) else list(reason)
    return frame


def refuse(row: int, column: str, value: str, reason: str) -> ExtractRefused:
    """A refusal of the whole file, said on one row (0: the file itself)."""
    return ExtractRefused(error_frame([row], column, [value], reason))
