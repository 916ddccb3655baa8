"""An import's error report grouped by problem, the problems that make a value wrong first.

The reader reports each refused cell as (row, column, value, reason), and a reason often
names its value ("duplicate key (sku): same as row 5", "Excel error value #N/A"). A
problem is a column and a reason with those particulars taken out, so that the same
problem with different values is one group: its count, its first rows, its share of the
download. Groups are ordered by kind: what concerns the whole file (row 0), then values
that are wrong (numbers, dates, Excel errors, duplicates ...), then references to master
data not imported yet (unknown SKU, location, family), which a single missing import of
the products or locations causes and which would otherwise bury the rest.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sop.exports import cell_safe
from sop.extract_reader.errors import ERROR_COLUMNS
from sop.extract_reader.validation import REF_LABELS

# How many rows of each group the report shows; the download has them all.
FIRST_ROWS = 5

FILE, DATA, REFERENCE = "file", "data", "reference"
_KIND_ORDER = {FILE: 0, DATA: 1, REFERENCE: 2}

# The extract that creates each kind of reference: the one to import first.
_REFERENCE_SOURCE = {
    "product": "products",
    "location": "locations",
    "resource": "resources",
    "supplier": "suppliers",
    "family": "products",
    "like": "products",
}
# Users are not imported: an unknown one is a wrong value, not a missing extract.
_REFERENCE_RE = re.compile(
    "^unknown (" + "|".join(re.escape(REF_LABELS[kind]) for kind in _REFERENCE_SOURCE) + ")$"
)
_SOURCE_OF_LABEL = {REF_LABELS[kind]: source for kind, source in _REFERENCE_SOURCE.items()}

# The reader's reasons that carry particulars of one cell, and the problem each states.
# Ordered: the first pattern that matches a reason names its problem; a reason no pattern
# matches is its own problem, as written.
_PROBLEMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), label)
    for pattern, label in (
        (
            r"^this row has \d+ fields, the header has \d+: the file ends in the middle",
            "the file ends in the middle of this row (it looks cut off): export it again",
        ),
        (
            r"^this row has \d+ fields, the header has \d+$",
            "the row's fields do not match the header's",
        ),
        (r"^Excel error value ", "an Excel error value (#N/A, #REF! ...) instead of a value"),
        (r"^unknown (\w+?)s? in the list: ", r"unknown \1 in the list"),
        (
            r"^ambiguous: \S+ is \S+ with a decimal (point|comma), or \S+ with a \1 between "
            r"thousands",
            r"ambiguous: a decimal \1 or a \1 between thousands; say which the file uses",
        ),
        (r"^duplicate key \((.+)\): same as row \d+$", r"duplicate key (\1)"),
        (
            r"^too large: rounded to \d+ decimals it is \S+, more than (\d+) digits before the "
            r"decimal point$",
            r"too large (at most \1 digits before the decimal point)",
        ),
        (
            r"^too large for this database, which keeps (\d+) significant digits",
            r"too large for this database, which keeps \1 significant digits",
        ),
        (
            r"^not a (date|month): .* has a time of day",
            r"not a \1: it has a time of day; state in an import profile that dates carry a time",
        ),
        (
            r"^ambiguous: .*; state the file's (date|month) format$",
            r"ambiguous \1: day and month can be read either way; state the file's \1 format",
        ),
        (
            r"^not a (date|month) in a stated format: ",
            r"not a \1 in a stated format; state the \1 format",
        ),
        (
            r"^(not a (?:date|month) in the stated format \(.+?\), .+? or an Excel date):",
            r"\1",
        ),
        (r"^too long \([\d,]+ characters, at most (\d+)\)$", r"too long (at most \1 characters)"),
        (r"^text decoded twice \(probably .*\): (.+)$", r"text decoded twice: \1"),
        (
            r"^part of the merged cells ",
            "part of merged cells that reads empty: state in the import profile that merged "
            "cells are filled, or unmerge them",
        ),
    )
)


def problem_of(column: str, reason: str) -> tuple[str, str]:
    """(problem, kind) of one error: the reason without the cell's particulars, and whether it
    concerns the file, a wrong value or a missing reference."""
    if _REFERENCE_RE.match(reason):
        return reason, REFERENCE
    for pattern, label in _PROBLEMS:
        found = pattern.match(reason)
        if found:
            return found.expand(label), DATA
    return reason, DATA


def reference_hint(problem: str) -> str:
    """What an unknown reference usually means, for a reference group."""
    found = _REFERENCE_RE.match(problem)
    if not found:
        return ""
    source = _SOURCE_OF_LABEL[found[1]]
    return (
        f"Usually the master data is not imported yet: import the {source} first (or correct "
        f"the {found[1]} codes), then this file again."
    )


@dataclass
class ErrorGroup:
    """One problem of an import: its column, what it is, how many rows have it, the first.

    `at_least`: the count is of the errors kept, not of the file (a report made before the
    import counted by problem). `listed`: how many of its rows the CSV download holds.
    """

    column: str
    problem: str
    kind: str
    count: int
    first: list[dict] = field(default_factory=list)
    listed: int = 0
    at_least: bool = False

    @property
    def hint(self) -> str:
        return reference_hint(self.problem) if self.kind == REFERENCE else ""

    @property
    def is_file(self) -> bool:
        return self.kind == FILE

    def as_dict(self) -> dict:
        """As the job row stores it."""
        return {
            "column": self.column,
            "problem": self.problem,
            "kind": self.kind,
            "count": self.count,
            "first": self.first,
            "listed": self.listed,
        }

    @classmethod
    def from_dict(cls, stored: dict) -> ErrorGroup:
        return cls(**{k: stored[k] for k in ("column", "problem", "kind", "count", "first")},
                   listed=stored.get("listed", stored["count"]))  # fmt: skip


class ProblemTally:
    """The errors of a file read in chunks, counted by problem in bounded memory.

    Each problem keeps its count and its first FIRST_ROWS errors, however many errors the
    report itself keeps; a file-wide hint (row 0) said again by a later chunk counts once,
    as the import's error count does.
    """

    def __init__(self) -> None:
        self._groups: dict[tuple[str, str], ErrorGroup] = {}
        self._file_reasons: set[str] = set()

    def add(self, errors: pd.DataFrame | list[dict]) -> None:
        errors = _frame(errors)
        if not len(errors):
            return
        said = errors["row"].to_numpy() == 0
        if said.any():
            again = errors["reason"].isin(self._file_reasons).to_numpy()
            self._file_reasons.update(errors.loc[said, "reason"].astype(str))
            errors = errors[~(said & again)]
        labelled = _labelled(errors)
        keys = labelled["group"].to_numpy()
        rows, values, reasons = (labelled[c].to_numpy() for c in ("row", "value", "reason"))
        kinds = labelled["kind"].to_numpy()
        for key in pd.unique(keys).tolist():
            at = np.flatnonzero(keys == key)
            column, problem = labelled["column"].iat[at[0]], labelled["problem"].iat[at[0]]
            group = self._groups.get((column, problem))
            if group is None:
                group = ErrorGroup(column, problem, kinds[at[0]], 0)
                self._groups[(column, problem)] = group
            group.count += len(at)
            group.first += [
                {"row": int(rows[i]), "column": column, "value": values[i], "reason": reasons[i]}
                for i in at[: max(FIRST_ROWS - len(group.first), 0)]
            ]

    def download(self, kept: pd.DataFrame) -> pd.DataFrame:
        """The errors of the CSV download, with their problem: the `kept` errors and, where
        the report keeps only the first errors of a file, each problem's first rows beyond
        them, so that every problem is in it. In the file's order."""
        firsts = [e for g in self._groups.values() for e in g.first]
        rows = pd.concat([_frame(kept), _frame(firsts)], ignore_index=True)
        rows = rows.astype({"row": "int64"}).drop_duplicates(["row", "column", "reason"])
        return problem_frame(rows.sort_values("row", kind="stable").reset_index(drop=True))

    def groups(self, *, listed: pd.DataFrame | None = None) -> list[ErrorGroup]:
        """The problems, file first, then wrong values, then references; the most frequent
        first within a kind. `listed`: the errors the download holds, to count each group's."""
        held = {}
        if listed is not None and len(listed):
            held = problem_frame(listed).groupby(["column", "problem"]).size().to_dict()
        ordered = sorted(
            self._groups.values(),
            key=lambda g: (_KIND_ORDER[g.kind], -g.count, g.first[0]["row"]),
        )
        for group in ordered:
            group.listed = (
                held.get((group.column, group.problem), 0) if listed is not None else group.count
            )
        return ordered


def error_groups(errors: pd.DataFrame | list[dict], *, complete: bool = True) -> list[ErrorGroup]:
    """The errors grouped by problem; `complete` False when they are only the first of the
    file's errors, so each count is a lower bound."""
    tally = ProblemTally()
    tally.add(errors)
    groups = tally.groups()
    for group in groups:
        group.at_least = not complete
    return groups


def job_error_groups(job) -> list[ErrorGroup]:
    """An import job's problems: as counted during the import, or, for a job refused before
    imports counted by problem, grouped from the errors it kept."""
    if job.error_groups:
        return [ErrorGroup.from_dict(g) for g in job.error_groups]
    if not job.errors:
        return []
    return error_groups(job.errors, complete=job.error_count <= len(job.errors))


def problem_frame(errors: pd.DataFrame) -> pd.DataFrame:
    """The errors with their problem, in a `problem` column after the reason."""
    return _labelled(_frame(errors)).drop(columns=["kind", "group"])


def _frame(errors: pd.DataFrame | list[dict]) -> pd.DataFrame:
    if isinstance(errors, pd.DataFrame):
        return errors[ERROR_COLUMNS]
    return pd.DataFrame(list(errors), columns=ERROR_COLUMNS)


def _labelled(errors: pd.DataFrame) -> pd.DataFrame:
    """The errors with their problem and kind; each distinct (column, reason) is read once."""
    errors = errors.astype({"column": str, "value": str, "reason": str})
    if not len(errors):
        return errors.assign(problem="", kind="", group=0)
    said = errors["row"].to_numpy() == 0
    # Few distinct (column, reason) pairs among many errors: each is named once.
    columns, column_names = pd.factorize(errors["column"])
    reasons, reason_texts = pd.factorize(errors["reason"])
    pair = (columns.astype(np.int64) * len(reason_texts) + reasons) * 2 + said
    distinct, codes = np.unique(pair, return_inverse=True)
    uniques = [
        (column_names[p // 2 // len(reason_texts)], reason_texts[p // 2 % len(reason_texts)], p % 2)
        for p in distinct.tolist()
    ]
    named = [
        (reason, FILE) if whole_file else problem_of(column, reason)
        for column, reason, whole_file in uniques
    ]
    # One number per (column, problem): the key of the error's group.
    groups = {}
    group_of = [
        groups.setdefault((column_names[p // 2 // len(reason_texts)], problem), len(groups))
        for p, (problem, _) in zip(distinct.tolist(), named, strict=True)
    ]
    problems = np.asarray([p for p, _ in named], dtype=object)[codes]
    kinds = np.asarray([k for _, k in named], dtype=object)[codes]
    return errors.assign(problem=problems, kind=kinds, group=np.asarray(group_of)[codes])


def errors_csv_of(job, number: int) -> str | None:
    """The rows of the job's error download that have its `number`-th problem (from 1), as
    CSV under the same header; None if it has no such problem."""
    groups = job_error_groups(job)
    if not 1 <= number <= len(groups):
        return None
    group = groups[number - 1]
    stored = pd.read_csv(io.StringIO(job.errors_csv), dtype=str, keep_default_na=False)
    if "problem" not in stored:  # a download written before problems were named
        stored = problem_frame(stored.astype({"row": int}))
    mine = stored[
        (stored["problem"] == group.problem) & (stored["column"] == cell_safe(group.column))
    ]
    return mine.to_csv(index=False)
