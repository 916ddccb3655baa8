"""The supply review's Excel round-trip: planned supply out to Excel and back.

One workbook per plan (or per family, as the page's filter says): each SKU-location of the
published run as three rows, consensus demand and projected on hand read-only around the
editable planned supply, months of the cycle's horizon as columns. A planned-supply cell
comes back through `PlannedSupplyForm` and `planned_supply_save`, as if typed in the grid;
an emptied cell releases the month to the engine, as on the page.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError

from sop.choices import Stage
from sop.models import Cycle, Location, Product
from sop.roundtrip import Edit, RoundTrip, SheetRow, workbook_build
from supply import selectors, services
from supply.choices import SupplyReason
from supply.forms import PlannedSupplyForm
from supply.models import PlannedSupplyEdit, SupplyRun

EDITABLE_LABEL = "Planned supply"
# (field of the projection, row label), in the order of the sheet.
ROWS = (
    ("demand", "Consensus demand"),
    ("planned", EDITABLE_LABEL),
    ("on_hand", "Projected on hand"),
)


def _resolve(keys: dict[str, str]) -> tuple[Product, Location]:
    product = Product.objects.filter(sku=keys["SKU"]).first()
    if product is None:
        raise ValidationError(f"Unknown SKU {keys['SKU']!r}.")
    location = Location.objects.filter(code=keys["Location"]).first()
    if location is None:
        raise ValidationError(f"Unknown location {keys['Location']!r}.")
    return product, location


def _save(
    *, cycle: Cycle, user, target: tuple[Product, Location], edit: Edit, confirmed: bool
) -> None:
    product, location = target
    form = edit.form(PlannedSupplyForm, "quantity", product=product.pk, location=location.pk)
    services.planned_supply_save(
        cycle=cycle,
        user=user,
        confirmed=confirmed,
        product=product,
        location=location,
        quantity=form.cleaned_data["quantity"],
        **form.edit_fields(),
    )


ROUNDTRIP = RoundTrip(
    name="supply",
    title="Planned supply",
    editable_label=EDITABLE_LABEL,
    key_headers=("SKU", "Location", "Name"),
    label_keys=("Name",),
    reasons=SupplyReason.choices,
    perm="supply.change_plannedsupplyedit",
    stage=Stage.SUPPLY_REVIEW,
    review_url="supply:review",
    resolve=_resolve,
    save=_save,
)


def workbook(*, cycle: Cycle, run: SupplyRun, filters: selectors.Filters) -> bytes:
    """The plan's workbook (the page's family and ABC filters): two queries."""
    months = cycle.horizon
    column = {m: i for i, m in enumerate(months)}
    fields = [name for name, _ in ROWS]
    projection = selectors.projection_rows(run=run, filters=filters, fields=fields)
    versions: dict[tuple[str, str, dt.date], int] = {
        (sku, code, month): version
        for sku, code, month, version in PlannedSupplyEdit.objects.filter(cycle=cycle).values_list(
            "product__sku", "location__code", "month", "version"
        )
    }
    series: dict[tuple[str, str], dict] = {}
    for sku, code, name, month, *values in projection.iterator(chunk_size=20000):
        if month not in column:
            continue
        entry = series.setdefault(
            (sku, code), {"name": name, **{f: [None] * len(months) for f in fields}}
        )
        for f, value in zip(fields, values, strict=True):
            entry[f][column[month]] = value
    rows: list[SheetRow] = []
    for (sku, code), entry in series.items():
        for f, label in ROWS:
            editable = label == EDITABLE_LABEL
            rows.append(
                SheetRow(
                    [sku, code, entry["name"]],
                    label,
                    entry[f],
                    editable=editable,
                    versions=[versions.get((sku, code, m)) for m in months] if editable else [],
                )
            )
    scope = f"Family {filters.family}" if filters.family else "All families"
    if filters.abc:
        scope += f", ABC {filters.abc}"
    caption = [
        str(cycle),
        scope,
        "quantities in units; type the planned supply in a yellow cell, with a reason and a "
        "comment on its row; empty releases the month to the engine",
    ]
    return workbook_build(
        grid=ROUNDTRIP, cycle=cycle, caption=caption, months=months, kind="units", rows=rows
    )
