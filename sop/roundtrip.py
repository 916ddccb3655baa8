"""The Excel round-trip of a planning grid: a workbook out, the planner's edits back in.

An app declares its grid as a `RoundTrip` (which rows, which row is editable, how a cell
is saved). The workbook it exports is a sheet a planner can read (frozen header, months as
columns, the editable cells yellow and unlocked, the rest locked and grey) and a very hidden
sheet that remembers, per editable cell, the version and the value exported.

On upload every editable cell whose value differs from the exported one becomes an `Edit`.
A cell a planner could not have typed (a formula, an error such as #DIV/0!) is refused
here; everything else is handed, as text, to the app's `save`, which validates it with the
page's own form and saves it through the page's own service: a cell comes back exactly as if
it had been typed, with the version exported as the version seen. `edits_run` runs the edits
in one transaction: the preview rolls it back, the apply commits it only if every edit passed.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
from collections.abc import Callable, Sequence
from copy import copy
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from sop.exports import cell_safe
from sop.formatting import export_number, format_month
from sop.locking import EditConflict
from sop.models import Cycle
from sop.sanity import NeedsConfirmation

META_SHEET = "roundtrip"
FORMAT_VERSION = 1
CAPTION_ROW, HEADER_ROW, FIRST_ROW = 1, 2, 3
# Excel's own "input" style colours: the cells a planner may change.
EDITABLE_FILL = "FFF2CC"
READ_ONLY_FONT = "595959"
SIGNING_SALT = "sop.roundtrip"
# An upload's edits are signed into the preview page; applying them is refused after this.
PREVIEW_MAX_AGE = 3600


@dataclass
class SheetRow:
    """A row of the sheet: its key cells (SKU, location ...), a label, a value per month.

    An editable row has a version per month (None: nothing saved there yet) and reason and
    comment cells beside it.
    """

    keys: list[str]
    label: str
    values: list[object]
    editable: bool = False
    versions: list[int | None] = field(default_factory=list)


@dataclass(frozen=True)
class RoundTrip:
    """A grid that goes to Excel and comes back: what the app declares.

    `key_headers` name the key columns of each row (the last one may be a plain label,
    e.g. the product name, listed in `label_keys` and ignored on the way back); `resolve`
    turns a row's keys into what `save` needs or raises ValidationError ("Unknown SKU");
    `save(cycle=, user=, target=, edit=, confirmed=)` validates and saves one cell as the
    page would. The preview posts to `apply_url` (a URL name taking the cycle's pk, and
    `apply_args` after it), by default the app's `<name>:workbook_apply`.
    """

    name: str
    title: str
    editable_label: str
    key_headers: tuple[str, ...]
    label_keys: tuple[str, ...]
    reasons: Sequence[tuple[str, str]]
    perm: str
    stage: str
    review_url: str
    resolve: Callable[..., Any]
    save: Callable[..., None]
    apply_url: str = ""
    apply_args: tuple = ()


@dataclass(frozen=True)
class Edit:
    """One changed cell of an uploaded workbook: where, what was exported, what is there now."""

    cell: str  # "F7"
    row: int
    keys: list[str]
    month: str  # ISO date
    old: str
    new: str
    version: int | None
    reason: str
    comment: str

    def form(self, form_class, value_field: str, **fields):
        """The grid's own edit form for this cell, bound and valid (else ValidationError
        with the form's message): the workbook is checked as the page checks a cell."""
        form = form_class(
            {
                "month": self.month,
                value_field: self.new,
                "reason": self.reason,
                "comment": self.comment,
                "version": self.version or "",
                **fields,
            }
        )
        if not form.is_valid():
            raise ValidationError(form.error_text())
        return form


@dataclass(frozen=True)
class Problem:
    """A cell, row or workbook the upload cannot take, and why."""

    cell: str
    message: str
    conflict: bool = False
    # A value far outside the series' history (`sop.sanity`): saved if the planner confirms.
    confirm: bool = False


@dataclass
class Outcome:
    """What an upload would do: the edits that pass, and the problems that stop it."""

    edits: list[Edit] = field(default_factory=list)
    passed: list[Edit] = field(default_factory=list)
    problems: list[tuple[Edit | None, Problem]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def readable(self) -> bool:
        """Whether the workbook could be read at all (its cells may still be refused)."""
        return all(edit is not None for edit, _ in self.problems)

    @property
    def conflicts(self) -> int:
        return sum(1 for _, p in self.problems if p.conflict)

    @property
    def confirmations(self) -> int:
        return sum(1 for _, p in self.problems if p.confirm)

    @property
    def ok_if_confirmed(self) -> bool:
        """Whether the only problems are values the planner may confirm."""
        return bool(self.problems) and all(p.confirm for _, p in self.problems)


def cell_ref(row: int, column: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(column)}{row}"


def workbook_build(
    *,
    grid: RoundTrip,
    cycle: Cycle,
    caption: Sequence[str],
    months: Sequence[dt.date],
    kind: str,
    rows: Sequence[SheetRow],
) -> bytes:
    """The grid as an XLSX workbook a planner edits in Excel and uploads back."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill, Protection
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = grid.title[:31]
    meta = book.create_sheet(META_SHEET)
    meta.sheet_state = "veryHidden"
    meta.append(["grid", grid.name])
    meta.append(["cycle", cycle.pk])
    meta.append(["format", FORMAT_VERSION])
    meta.append(["row", "versions", "exported"])

    sheet.append([cell_safe(c) for c in caption])
    sheet["A1"].font = Font(bold=True)
    header = [*grid.key_headers, "Row", *(m.isoformat() for m in months), "Reason", "Comment"]
    sheet.append(header)
    first_month = len(grid.key_headers) + 2
    reason_col = first_month + len(months)
    for cell in sheet[HEADER_ROW]:
        cell.font = Font(bold=True)
    # One styled cell per look, copied to the others: setting a style per cell hashes it
    # each time, which took most of a 600 SKU-location workbook's time.
    looks = book.create_sheet("looks")
    editable, grey_number, grey = looks["A1"], looks["A2"], looks["A3"]
    editable.fill = PatternFill("solid", fgColor=EDITABLE_FILL)
    editable.protection = Protection(locked=False)
    grey_number.font = grey.font = Font(color=READ_ONLY_FONT)
    editable.number_format = grey_number.number_format = "#,##0"
    looks = {k: v._style for k, v in (("edit", editable), ("number", grey_number), ("text", grey))}
    book.remove(book["looks"])
    for r, row in enumerate(rows, start=FIRST_ROW):
        values = [export_number(v, kind) if not isinstance(v, str) else v for v in row.values]
        sheet.append([*(cell_safe(k) for k in row.keys), row.label, *values])
        for c in range(1 if not row.editable else first_month, reason_col):
            look = "text" if c < first_month else "edit" if row.editable else "number"
            sheet.cell(row=r, column=c)._style = copy(looks[look])
        if row.editable:
            for c in (reason_col, reason_col + 1):
                sheet.cell(row=r, column=c)._style = copy(looks["edit"])
            # One row per sheet row, not per cell: a whole plan's workbook writes in a third
            # of the time.
            exported = [_text(v) for v in values]
            meta.append([r, json.dumps(row.versions), json.dumps(exported)])
    if rows:
        reason_letter = cell_ref(1, reason_col)[:-1]
        reasons = DataValidation(
            type="list",
            formula1='"' + ",".join(label for _, label in grid.reasons) + '"',
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="Reason",
            error="Choose one of the reasons in the list.",
        )
        reasons.add(f"{reason_letter}{FIRST_ROW}:{reason_letter}{FIRST_ROW + len(rows) - 1}")
        sheet.add_data_validation(reasons)
    sheet.freeze_panes = sheet.cell(row=FIRST_ROW, column=first_month)
    for c in range(1, reason_col + 2):
        letter = cell_ref(1, c)[:-1]
        width = 12 if first_month <= c < reason_col else 16
        sheet.column_dimensions[letter].width = 32 if c == reason_col + 1 else width
    # Locked cells are read-only in Excel; there is no password: this marks what the app
    # reads back, it does not guard anything (the upload checks every cell anyway).
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def workbook_read(*, grid: RoundTrip, cycle: Cycle, data: bytes) -> Outcome:
    """The edits of an uploaded workbook, and what stops it being read at all."""
    from openpyxl import load_workbook

    outcome = Outcome()

    def refuse(cell: str, message: str) -> Outcome:
        outcome.problems.append((None, Problem(cell, message)))
        return outcome

    try:
        # Read-only streams the sheet: a whole plan's workbook loads in a fraction of the time.
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises a dozen kinds for a file that is not a workbook
        return refuse("", "This file is not an XLSX workbook.")
    try:
        return _read(grid, cycle, book, outcome, refuse)
    finally:
        book.close()


def _read(grid: RoundTrip, cycle: Cycle, book, outcome: Outcome, refuse) -> Outcome:
    if META_SHEET not in book.sheetnames or grid.title[:31] not in book.sheetnames:
        other = next((s for s in book.sheetnames if s != META_SHEET), "?")
        return refuse(
            "",
            f"This is not a {grid.title.lower()} workbook exported by the app (its sheet is "
            f"{other!r}): download the workbook from this page, edit it, and upload it here.",
        )
    meta_rows = book[META_SHEET].iter_rows(values_only=True)
    meta = {row[0]: row[1] for row in itertools.islice(meta_rows, 3)}
    if meta.get("grid") != grid.name:
        return refuse(
            "", f"This workbook is the {meta.get('grid')} grid's: upload it on its own page."
        )
    if meta.get("cycle") != cycle.pk:
        return refuse("", f"This workbook was exported for another cycle, not {cycle}.")
    next(meta_rows)  # the meta sheet's header
    exported = {
        row[0]: list(zip(json.loads(row[1]), json.loads(row[2]), strict=True))
        for row in meta_rows
        if row and isinstance(row[0], int)
    }
    rows = book[grid.title[:31]].iter_rows(min_row=HEADER_ROW)
    header = [c.value for c in next(rows, ())]
    first_month = len(grid.key_headers) + 2
    try:
        reason_col = header.index("Reason") + 1
    except ValueError:
        return refuse(cell_ref(HEADER_ROW, 1), "The header has no Reason column.")
    months: dict[int, dt.date] = {}
    for c in range(first_month, reason_col):
        month = _month(header[c - 1])
        if month is None:
            return refuse(cell_ref(HEADER_ROW, c), f"{header[c - 1]!r} is not a month.")
        months[c] = month
    reasons = {label.casefold(): code for code, label in grid.reasons}
    for r, cells in enumerate(rows, start=FIRST_ROW):
        values = [c.value for c in cells] + [None] * (reason_col + 1 - len(cells))
        if str(values[first_month - 2] or "") != grid.editable_label:
            continue
        keys = [str(v or "").strip() for v in values[: first_month - 2]]
        reason = str(values[reason_col - 1] or "").strip()
        reason = reasons.get(reason.casefold(), reason)
        comment = str(values[reason_col] or "").strip()
        for c, month in months.items():
            cell = cells[c - 1] if c <= len(cells) else None
            ref = cell_ref(r, c)
            cells_exported = exported.get(r, [])
            i = c - first_month
            version, old = cells_exported[i] if i < len(cells_exported) else (None, "")
            if cell is not None and cell.data_type in ("f", "e"):
                # Excel could compute it, but a planner could not have typed it.
                why = (
                    "is a formula: type the value instead"
                    if cell.data_type == "f"
                    else "is an error, not a number"
                )
                edit = Edit(ref, r, keys, month.isoformat(), old, str(cell.value), version,
                            reason, comment)  # fmt: skip
                outcome.edits.append(edit)
                outcome.problems.append((edit, Problem(ref, f"{cell.value} {why}.")))
                continue
            new = "" if cell is None else _typed(cell)
            if _same(new, old):
                continue
            outcome.edits.append(
                Edit(ref, r, keys, month.isoformat(), old, new, version, reason, comment)
            )
    return outcome


def edits_run(
    *, grid: RoundTrip, cycle: Cycle, user, outcome: Outcome, apply: bool, confirmed: bool = False
) -> Outcome:
    """Save every edit as typed, in one transaction; commit only if `apply` and all passed.

    Each edit runs in its own savepoint, so a refused cell is reported and the next is still
    checked against the plan as the earlier cells leave it, as they would be on apply.
    """
    key_columns = [h for h in grid.key_headers if h not in grid.label_keys]
    refused = {id(edit) for edit, _ in outcome.problems}
    with transaction.atomic():
        targets: dict[tuple[str, ...], Any] = {}
        for edit in outcome.edits:
            if id(edit) in refused:
                continue
            keys = tuple(
                k for h, k in zip(grid.key_headers, edit.keys, strict=True) if h in key_columns
            )
            try:
                with transaction.atomic():
                    if keys not in targets:
                        targets[keys] = grid.resolve(dict(zip(key_columns, keys, strict=True)))
                    grid.save(
                        cycle=cycle,
                        user=user,
                        target=targets[keys],
                        edit=edit,
                        confirmed=confirmed,
                    )
            except EditConflict as exc:
                outcome.problems.append((edit, Problem(edit.cell, str(exc), conflict=True)))
            except NeedsConfirmation as exc:
                message = " ".join(exc.messages)
                outcome.problems.append((edit, Problem(edit.cell, message, confirm=True)))
            except (ValidationError, PermissionDenied) as exc:
                messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
                outcome.problems.append((edit, Problem(edit.cell, " ".join(messages))))
            else:
                outcome.passed.append(edit)
        if not (apply and outcome.ok):
            transaction.set_rollback(True)
    return outcome


def edits_sign(*, grid: RoundTrip, cycle: Cycle, user, edits: Sequence[Edit]) -> str:
    """The edits as a token the preview page posts back to apply them."""
    payload = {"grid": grid.name, "cycle": cycle.pk, "user": user.pk}
    payload["edits"] = [asdict(e) for e in edits]
    return signing.dumps(payload, salt=SIGNING_SALT, compress=True)


def edits_unsign(*, grid: RoundTrip, cycle: Cycle, user, token: str) -> list[Edit]:
    """The edits of a preview token; ValidationError if it is stale or not this user's."""
    try:
        payload = signing.loads(token, salt=SIGNING_SALT, max_age=PREVIEW_MAX_AGE)
    except signing.BadSignature:
        raise ValidationError(
            "This preview has expired or was changed: upload the workbook again."
        ) from None
    if (payload["grid"], payload["cycle"], payload["user"]) != (grid.name, cycle.pk, user.pk):
        raise ValidationError("This preview is not of this grid: upload the workbook again.")
    return [Edit(**e) for e in payload["edits"]]


def month_label(iso: str) -> str:
    return format_month(dt.date.fromisoformat(iso))


def _month(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value if value.day == 1 else None
    try:
        month = dt.date.fromisoformat(str(value).strip())
    except ValueError:
        return None
    return month if month.day == 1 else None


def _text(value: object) -> str:
    """A cell's value as the planner would have typed it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float):
        return repr(value).removesuffix(".0") if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def _typed(cell) -> str:
    value = cell.value
    # 10 % typed into Excel is stored as 0.1 shown as a percentage: it was typed as "10%".
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and "%" in (cell.number_format or ""):
        return f"{_text(round(value * 100, 6))}%"
    return _text(value)


def _same(new: str, old: str) -> bool:
    if new == old:
        return True
    try:
        return Decimal(new.replace(",", "")) == Decimal(old.replace(",", ""))
    except InvalidOperation:
        return False
