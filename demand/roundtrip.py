"""The demand review's Excel round-trips: a family's overrides (or a stream) out and back.

One workbook per family: the family row and each active SKU of it (overrides of the SKU
over all its locations), each as a read-only statistical forecast row and an editable
override row, months of the cycle's horizon as columns. An override cell comes back
through `OverrideForm` and `override_save`, as if typed in the grid. An input stream's
workbook is the same with the stream's row in place of the override row
(`stream_roundtrip`), saved through `stream_entry_save`.
"""

from __future__ import annotations

from functools import partial

from django.core.exceptions import ValidationError

from demand import selectors, services
from demand.choices import OverrideKind, ReasonCode
from demand.forms import OverrideForm, StreamEntryForm
from demand.models import DemandOverride, InputStream, StreamEntry
from sop.choices import Stage
from sop.models import Cycle, Product
from sop.roundtrip import Edit, RoundTrip, SheetRow, workbook_build
from sop.selectors import product_families

EDITABLE_LABEL = "Override"
STATISTICAL_LABEL = "Statistical forecast"


def _resolve(keys: dict[str, str]) -> tuple[str, Product | None]:
    family, sku = keys["Family"], keys["SKU"]
    if sku:
        product = Product.objects.filter(sku=sku).first()
        if product is None:
            raise ValidationError(f"Unknown SKU {sku!r}.")
        if family and product.family != family:
            raise ValidationError(f"{sku} is in family {product.family}, not {family}.")
        return product.family, product
    if family not in product_families():
        raise ValidationError(f"Unknown family {family!r}.")
    return family, None


def _save(
    *, cycle: Cycle, user, target: tuple[str, Product | None], edit: Edit, confirmed: bool
) -> None:
    family, product = target
    form = edit.form(OverrideForm, "value")
    kind, value = form.cleaned_data["value"]
    services.override_save(
        cycle=cycle,
        user=user,
        confirmed=confirmed,
        value=value,
        kind=kind,
        family=family,
        product=product,
        **form.edit_fields(),
    )


ROUNDTRIP = RoundTrip(
    name="demand",
    title="Demand overrides",
    editable_label=EDITABLE_LABEL,
    key_headers=("Family", "SKU", "Name"),
    label_keys=("Name",),
    reasons=ReasonCode.choices,
    perm="demand.change_demandoverride",
    stage=Stage.DEMAND_REVIEW,
    review_url="demand:review",
    resolve=_resolve,
    save=_save,
)


def _override_cell(override: DemandOverride | StreamEntry | None) -> object:
    """An absolute override as a number Excel can sum, a percent one as typed (+10%)."""
    if override is None:
        return None
    if override.kind == OverrideKind.ABSOLUTE:
        return override.value
    return override.display_value


def _family_rows(
    family: str, products, months: list, stat: dict, figures: dict, label: str
) -> list[SheetRow]:
    """The family and each of its SKUs: a statistical row to read, then `label`'s row to
    fill with the figures (overrides or a stream's entries) by (SKU or None, month)."""
    series = [(None, [family, "", f"Family {family}"])] + [
        (p.pk, [family, p.sku, p.name]) for p in products
    ]
    rows: list[SheetRow] = []
    for pk, keys in series:
        rows.append(SheetRow(keys, STATISTICAL_LABEL, [stat.get(pk, {}).get(m) for m in months]))
        cells = [figures.get((pk, m)) for m in months]
        rows.append(
            SheetRow(
                keys,
                label,
                [_override_cell(o) for o in cells],
                editable=True,
                versions=[o.version if o is not None else None for o in cells],
            )
        )
    return rows


def workbook(*, cycle: Cycle, family: str) -> bytes:
    """The family's workbook: one query per kind of row, whatever the number of SKUs."""
    months = cycle.horizon
    products, stat, overrides = selectors.family_series(cycle=cycle, family=family)
    rows = _family_rows(family, products, months, stat, overrides, EDITABLE_LABEL)
    caption = [
        str(cycle),
        f"Family {family}",
        "quantities in units; type an override (1200 or +10%) in a yellow cell, "
        "with a reason and a comment on its row; empty clears it",
    ]
    return workbook_build(
        grid=ROUNDTRIP, cycle=cycle, caption=caption, months=months, kind="units", rows=rows
    )


def _stream_save(
    *,
    stream: InputStream,
    cycle: Cycle,
    user,
    target: tuple[str, Product | None],
    edit: Edit,
    confirmed: bool,
) -> None:
    family, product = target
    form = StreamEntryForm(
        {
            "month": edit.month,
            "value": edit.new,
            "comment": edit.comment,
            "version": edit.version or "",
        }
    )
    if not form.is_valid():
        raise ValidationError(form.error_text())
    services.stream_entry_save(
        cycle=cycle,
        stream=stream,
        user=user,
        family=family,
        product=product,
        **form.stream_fields(),
    )


def stream_roundtrip(stream: InputStream) -> RoundTrip:
    """The workbook of one input stream: its own grid name, so another's cannot come back."""
    return RoundTrip(
        name=f"stream-{stream.code}",
        title=f"{stream.name} input",
        editable_label=f"{stream.name} input",
        key_headers=("Family", "SKU", "Name"),
        label_keys=("Name",),
        reasons=ReasonCode.choices,
        perm="demand.change_streamentry",
        stage=Stage.DEMAND_REVIEW,
        review_url="demand:grid",
        resolve=_resolve,
        save=partial(_stream_save, stream=stream),
        apply_url="demand:stream_workbook_apply",
        apply_args=(stream.code,),
    )


def stream_workbook(*, cycle: Cycle, family: str, stream: InputStream) -> bytes:
    """A family's workbook of one stream: statistical rows to read, the stream's to fill."""
    grid = stream_roundtrip(stream)
    months = cycle.horizon
    products, stat, _ = selectors.family_series(cycle=cycle, family=family)
    entries = {
        (e.product_id if e.product_id else None, e.month): e
        for e in StreamEntry.objects.filter(
            cycle=cycle, stream=stream, family=family, location=None
        )
    }
    rows = _family_rows(family, products, months, stat, entries, grid.editable_label)
    caption = [
        str(cycle),
        f"Family {family}, {stream.name} input",
        "quantities in units; type your forecast (1200, or +10% of the statistical) in a "
        "yellow cell, with a comment on its row; empty clears it; the reason is optional",
    ]
    return workbook_build(
        grid=grid, cycle=cycle, caption=caption, months=months, kind="units", rows=rows
    )
