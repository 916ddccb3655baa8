"""Reading a big file in chunks: the checks that span chunks, and what the whole file gave.

`validate` checks one table; a file read in chunks (`iter_tables`) is checked chunk by
chunk, and what needs the whole file is kept here in bounded memory: the keys seen (a
64-bit hash and the row per key, to find a duplicate in a later chunk), the error count
with at most `kept` error rows, the warnings said once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sop.extract_reader.errors import ERROR_COLUMNS, error_frame
from sop.extract_reader.validation import Extract
from sop.extracts import Entity


class KeyLedger:
    """The natural keys of the rows checked so far, to refuse a key repeated in a later chunk.

    Each key is kept as a 64-bit hash of its typed values and the row it was first on
    (16 bytes a row). Two different keys sharing a hash is a chance of about n^2 / 2^65
    (3 in 10 million for 2 million rows). The keys are kept in sorted runs, a chunk's run
    merged with the one before it while that one is no longer than it (as a binary counter
    carries): there are at most log2(chunks) runs to search, and no chunk copies and sorts
    everything seen so far (which, at the end of a million-row file, took 50 MB more).
    """

    def __init__(self, entity: Entity, key_fields: list[str]):
        self.entity = entity
        self.key_fields = key_fields
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []

    def check(self, extract: Extract) -> None:
        """Add to the extract's errors its rows whose key an earlier chunk had; remember
        the keys of its other valid rows."""
        frame = extract.frame
        if not len(frame) or not self.key_fields:
            return
        valid = ~frame.index.isin(extract.errors["row"].to_numpy())
        keys = frame.loc[valid, self.key_fields]
        hashes = pd.util.hash_pandas_object(keys.astype(str), index=False).to_numpy()
        rows = keys.index.to_numpy(dtype=np.int64)
        seen = np.zeros(len(hashes), dtype=bool)
        first = np.zeros(len(hashes), dtype=np.int64)
        for run_hashes, run_rows in self.runs:
            at = np.minimum(np.searchsorted(run_hashes, hashes), len(run_hashes) - 1)
            found = run_hashes[at] == hashes
            seen |= found
            first[found] = run_rows[at[found]]
        if seen.any():
            label = ", ".join(self.entity.key)
            repeated = rows[seen]
            texts = extract.source.loc[repeated, list(self.entity.key)]
            errors = error_frame(
                repeated,
                label,
                [" / ".join(t) for t in texts.itertuples(index=False)],
                [f"duplicate key ({label}): same as row {r}" for r in first[seen]],
            )
            extract.errors = (
                pd.concat([extract.errors, errors], ignore_index=True)
                .sort_values("row", kind="stable")
                .reset_index(drop=True)
            )
        order = np.argsort(hashes[~seen], kind="stable")
        run = (hashes[~seen][order], rows[~seen][order])
        while self.runs and len(self.runs[-1][0]) <= len(run[0]):
            run = _merged(self.runs.pop(), run)
        if len(run[0]):
            self.runs.append(run)


def _merged(
    earlier: tuple[np.ndarray, np.ndarray], later: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Two sorted runs as one, a hash of `earlier` before the same hash of `later`."""
    (a_hashes, a_rows), (b_hashes, b_rows) = earlier, later
    size = len(a_hashes) + len(b_hashes)
    at = np.searchsorted(a_hashes, b_hashes, side="right") + np.arange(len(b_hashes))
    from_a = np.ones(size, dtype=bool)
    from_a[at] = False
    hashes, rows = np.empty(size, dtype=np.uint64), np.empty(size, dtype=np.int64)
    hashes[at], rows[at] = b_hashes, b_rows
    hashes[from_a], rows[from_a] = a_hashes, a_rows
    return hashes, rows


@dataclass
class Summary:
    """What a file read in chunks gave as a whole: rows, the error count and the first
    `kept` errors, the warnings (each once) and the sheet."""

    kept: int
    rows_read: int = 0
    error_count: int = 0
    errors: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ERROR_COLUMNS))
    warnings: list[str] = field(default_factory=list)
    present_fields: list[str] = field(default_factory=list)
    sheet: str = ""
    hidden_rows: int = 0
    refused: bool = False

    def add(self, extract: Extract) -> None:
        errors = extract.errors
        if self.error_count:  # a file-wide hint (row 0) is said once, by the first chunk
            errors = errors[(errors["row"] != 0) | ~errors["reason"].isin(self.errors["reason"])]
        self.error_count += len(errors)
        if len(self.errors) < self.kept and len(errors):
            room = self.kept - len(self.errors)
            self.errors = pd.concat([self.errors, errors.head(room)], ignore_index=True)
        self.rows_read += extract.rows_read
        self.warnings += [w for w in extract.warnings if w not in self.warnings]
        self.present_fields = extract.present_fields or self.present_fields
        self.sheet = extract.sheet
        self.hidden_rows += extract.hidden_rows
        self.refused = self.refused or extract.refused

    def extract(self) -> Extract:
        """The summary as an extract without rows (for the error report)."""
        return Extract(
            self.rows_read,
            pd.DataFrame(),
            self.present_fields,
            self.errors.astype({"row": np.int64}),
            self.warnings,
            sheet=self.sheet,
            hidden_rows=self.hidden_rows,
            refused=self.refused,
        )
