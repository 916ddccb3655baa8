"""The documented ERP extract formats: one declaration per entity.

The importer validates against these declarations, the demo generator writes files from
them and docs/import-formats.md describes them; keeping the columns in one place keeps the
three in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # str | int | decimal | month | date | choice | bool
    required: bool = True
    field: str | None = None  # model field; defaults to the column name
    ref: str | None = None  # product | location | resource | supplier | family | user | like
    many: bool = False  # several references in one cell, separated by "|" (a many-to-many)
    choices: tuple[str, ...] = ()
    min_value: float | None = None
    max_length: int | None = None
    default: object = None
    help: str = ""

    @property
    def model_field(self) -> str:
        return self.field or self.name


@dataclass(frozen=True)
class Entity:
    name: str
    model: str  # "app_label.ModelName"
    key: tuple[str, ...]  # the natural key, in column names
    columns: tuple[Column, ...] = field(default_factory=tuple)
    help: str = ""
    # A check across the columns of a row, "module.function": it takes the typed rows, the
    # file's text and the reference maps, and returns (mask, column, reason) triples.
    row_check: str = ""

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


_NON_NEG = 0.0


def product_lifecycle_check(
    rows: pd.DataFrame, text: pd.DataFrame, refs: dict
) -> list[tuple[np.ndarray, str, str]]:
    """A product cannot be its own like product, nor end before it is launched."""
    failed = []
    if "like_sku" in text:
        own = (text["like_sku"].str.strip() == text["sku"].str.strip()).to_numpy()
        failed.append((own, "like_sku", "a product cannot be its own like product"))
    if "launch_month" in text and "end_of_life_month" in text:
        launch = pd.to_datetime(rows["launch_month"])
        end = pd.to_datetime(rows["end_of_life_month"])
        before = (end < launch).to_numpy()
        failed.append(
            (before, "end_of_life_month", "the end-of-life month is before the launch month")
        )
    return failed


def customer_order_lines_check(
    rows: pd.DataFrame, text: pd.DataFrame, refs: dict
) -> list[tuple[np.ndarray, str, str]]:
    """A shipped quantity needs the date it shipped (a ship date before the order is fine:
    the ERP's order date is not in the file, and a requested date can be moved earlier)."""
    if "shipped_quantity" not in text:
        return []
    shipped = pd.to_numeric(rows["shipped_quantity"], errors="coerce").fillna(0).to_numpy() > 0
    if "shipped_date" in text:
        undated = (text["shipped_date"].fillna("").str.strip() == "").to_numpy()
    else:
        undated = np.ones(len(text), bool)
    return [(shipped & undated, "shipped_date", "a shipped quantity needs a shipped date")]


def purchase_receipts_check(
    rows: pd.DataFrame, text: pd.DataFrame, refs: dict
) -> list[tuple[np.ndarray, str, str]]:
    """Goods cannot be received, nor promised, before they were ordered."""
    ordered = pd.to_datetime(rows["order_date"])
    return [
        (
            (pd.to_datetime(rows[column]) < ordered).to_numpy(),
            column,
            f"the {what} is before the order date",
        )
        for column, what in (("receipt_date", "receipt date"), ("promised_date", "promised date"))
        if column in text
    ]


def product_sources_check(
    rows: pd.DataFrame, text: pd.DataFrame, refs: dict
) -> list[tuple[np.ndarray, str, str]]:
    """A source is a supplier or a resource, one of the two; rows naming the same source
    give the same monthly capacity (the source's, shared by its products)."""
    supplier = _given(text, "supplier_code")
    resource = _given(text, "resource_code")
    failed = [
        (supplier & resource, "resource_code", "give a supplier_code or a resource_code, not both"),
        (~supplier & ~resource, "supplier_code", "give a supplier_code or a resource_code"),
    ]
    source = np.where(
        supplier,
        "supplier "
        + text.get("supplier_code", pd.Series("", index=text.index)).fillna("").str.strip(),
        "resource "
        + text.get("resource_code", pd.Series("", index=text.index)).fillna("").str.strip(),
    )
    capacity = pd.to_numeric(rows["monthly_capacity"], errors="coerce")
    first = capacity.groupby(source).transform("first")
    differs = (supplier ^ resource) & (capacity != first).to_numpy() & capacity.notna().to_numpy()
    failed.append(
        (
            differs,
            "monthly_capacity",
            "differs from the first row naming the same source: a source has one monthly capacity",
        )
    )
    return failed


def _given(text: pd.DataFrame, column: str) -> np.ndarray:
    if column not in text:
        return np.zeros(len(text), bool)
    return (text[column].fillna("").str.strip() != "").to_numpy()


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity(
            "suppliers",
            "sop.Supplier",
            key=("supplier_code",),
            help="Vendors of purchased items and their lead time in days.",
            columns=(
                Column("supplier_code", "str", field="code", max_length=40),
                Column("name", "str", max_length=200),
                Column("lead_time_days_mean", "decimal", False, min_value=_NON_NEG, default=0),
                Column("lead_time_days_std", "decimal", False, min_value=_NON_NEG, default=0),
            ),
        ),
        Entity(
            "products",
            "sop.Product",
            key=("sku",),
            help="The item master.",
            columns=(
                Column("sku", "str", max_length=40),
                Column("name", "str", max_length=200),
                Column("family", "str", max_length=100),
                Column("category", "str", False, max_length=100, default=""),
                Column("uom", "str", False, max_length=20, default="EA"),
                Column("unit_cost", "decimal", False, min_value=_NON_NEG, default=0),
                Column("unit_price", "decimal", False, min_value=_NON_NEG, default=0),
                Column("lead_time_days", "int", False, min_value=_NON_NEG, default=0),
                Column("moq", "decimal", False, min_value=_NON_NEG, default=0),
                Column("lot_size", "decimal", False, min_value=_NON_NEG, default=0),
                Column("make_or_buy", "choice", False, choices=("make", "buy"), default="make"),
                Column(
                    "supplier_code", "str", False, field="supplier", ref="supplier", default=None
                ),
                Column("active", "bool", False, default=True),
                Column(
                    "like_sku",
                    "str",
                    False,
                    field="like_product",
                    ref="like",
                    default=None,
                    help="forecast from this product until there is enough history",
                ),
                Column("like_factor", "decimal", False, min_value=0.0001, default=None),
                Column("launch_ramp_months", "int", False, min_value=_NON_NEG, default=None),
                Column("launch_month", "month", False, default=None),
                Column("end_of_life_month", "month", False, default=None),
            ),
            row_check="sop.extracts.product_lifecycle_check",
        ),
        Entity(
            "locations",
            "sop.Location",
            key=("location_code",),
            help="Plants, warehouses and distribution centres.",
            columns=(
                Column("location_code", "str", field="code", max_length=40),
                Column("name", "str", max_length=200),
                Column(
                    "kind",
                    "choice",
                    False,
                    choices=("plant", "warehouse", "dc"),
                    default="warehouse",
                ),
            ),
        ),
        Entity(
            "resources",
            "sop.Resource",
            key=("resource_code",),
            help="Work centres and supplier lines with capacity.",
            columns=(
                Column("resource_code", "str", field="code", max_length=40),
                Column("name", "str", max_length=200),
                Column(
                    "kind",
                    "choice",
                    False,
                    choices=("work_centre", "supplier"),
                    default="work_centre",
                ),
                Column(
                    "location_code", "str", False, field="location", ref="location", default=None
                ),
            ),
        ),
        Entity(
            "routings",
            "sop.Routing",
            key=("sku", "resource_code"),
            help="Hours of a resource needed per unit of a product.",
            columns=(
                Column("sku", "str", field="product", ref="product"),
                Column("resource_code", "str", field="resource", ref="resource"),
                Column("hours_per_unit", "decimal", min_value=0.00001),
            ),
        ),
        Entity(
            "product_sources",
            "sop.ProductSource",
            key=("sku", "location_code", "supplier_code", "resource_code"),
            help=(
                "Alternate sources of a product at a location: a supplier or a resource, with "
                "priority, unit cost, lead time and monthly capacity."
            ),
            row_check="sop.extracts.product_sources_check",
            columns=(
                Column("sku", "str", field="product", ref="product"),
                Column("location_code", "str", field="location", ref="location"),
                Column(
                    "supplier_code",
                    "str",
                    False,
                    field="supplier",
                    ref="supplier",
                    default=None,
                    help="a supplier; or a resource_code, one of the two",
                ),
                Column(
                    "resource_code",
                    "str",
                    False,
                    field="resource",
                    ref="resource",
                    default=None,
                    help="a work centre or supplier line; or a supplier_code",
                ),
                Column("priority", "int", False, min_value=1, default=1, help="1 is tried first"),
                Column("unit_cost", "decimal", min_value=_NON_NEG, help="currency per unit"),
                Column("lead_time_days", "int", False, min_value=_NON_NEG, default=0),
                Column(
                    "monthly_capacity",
                    "decimal",
                    min_value=_NON_NEG,
                    help="units a month, the source's: the same on every row naming it",
                ),
                Column("active", "bool", False, default=True),
            ),
        ),
        Entity(
            "sales_history",
            "sop.SalesHistory",
            key=("sku", "location_code", "month"),
            help="Monthly shipped quantity per product and location.",
            columns=(
                Column("sku", "str", field="product", ref="product"),
                Column("location_code", "str", field="location", ref="location"),
                Column("month", "month"),
                Column("quantity", "decimal", min_value=_NON_NEG),
                Column("revenue", "decimal", False, min_value=_NON_NEG, default=None),
            ),
        ),
        Entity(
            "inventory",
            "sop.InventorySnapshot",
            key=("sku", "location_code", "date"),
            help="On-hand stock per product and location on a date.",
            columns=(
                Column("sku", "str", field="product", ref="product"),
                Column("location_code", "str", field="location", ref="location"),
                Column("date", "date"),
                Column("on_hand", "decimal", min_value=_NON_NEG),
            ),
        ),
        Entity(
            "receipts",
            "sop.ScheduledReceipt",
            key=("order_ref", "sku", "location_code"),
            help="Open purchase and production orders.",
            columns=(
                Column("order_ref", "str", max_length=60),
                Column("sku", "str", field="product", ref="product"),
                Column("location_code", "str", field="location", ref="location"),
                Column("due_month", "month"),
                Column("quantity", "decimal", min_value=_NON_NEG),
                Column(
                    "kind", "choice", False, choices=("purchase", "production"), default="purchase"
                ),
            ),
        ),
        Entity(
            "purchase_receipts",
            "sop.PurchaseReceipt",
            key=("order_ref", "sku", "location_code", "receipt_date"),
            help="Goods receipts of purchase-order lines (supplier performance).",
            columns=(
                Column("order_ref", "str", max_length=60),
                Column("supplier_code", "str", field="supplier", ref="supplier"),
                Column("sku", "str", field="product", ref="product"),
                Column("location_code", "str", field="location", ref="location"),
                Column("order_date", "date"),
                Column("promised_date", "date"),
                Column("promised_quantity", "decimal", min_value=_NON_NEG),
                Column("receipt_date", "date", False, default=None),
                Column("received_quantity", "decimal", False, min_value=_NON_NEG, default=0),
            ),
            row_check="sop.extracts.purchase_receipts_check",
        ),
        Entity(
            "capacity",
            "sop.Capacity",
            key=("resource_code", "month"),
            help="Available hours per resource and month.",
            columns=(
                Column("resource_code", "str", field="resource", ref="resource"),
                Column("month", "month"),
                Column("hours", "decimal", min_value=_NON_NEG),
            ),
        ),
        Entity(
            "budget",
            "sop.Budget",
            key=("family", "month"),
            help="Revenue and volume budget per product family and month.",
            columns=(
                Column("family", "str", ref="family", max_length=100),
                Column("month", "month"),
                Column("revenue", "decimal", min_value=_NON_NEG),
                Column("volume", "decimal", min_value=_NON_NEG),
            ),
        ),
        Entity(
            "events",
            "sop.Event",
            key=("event_code",),
            help=(
                "The events calendar: promotions, price changes, launches, listings and "
                "external events, with their scope, months and expected effect."
            ),
            row_check="sop.events.events_extract_check",
            columns=(
                Column("event_code", "str", field="code", max_length=40),
                Column("name", "str", max_length=200),
                Column(
                    "kind",
                    "choice",
                    choices=(
                        "promotion",
                        "price_change",
                        "launch",
                        "listing",
                        "delisting",
                        "external",
                    ),
                ),
                Column("scope", "choice", choices=("all", "family", "product")),
                Column("family", "str", False, ref="family", max_length=100, default=""),
                Column("sku", "str", False, field="product", ref="product", default=None),
                Column("locations", "str", False, ref="location", many=True, default=""),
                Column("start_month", "month"),
                Column("end_month", "month"),
                Column(
                    "effect_kind", "choice", False, choices=("percent", "units"), default="percent"
                ),
                Column("effect_value", "decimal"),
                Column("dip_months", "int", False, min_value=_NON_NEG, default=0),
                Column("dip_percent", "decimal", False, default=0),
                Column(
                    "status",
                    "choice",
                    False,
                    choices=("proposed", "confirmed", "cancelled"),
                    default="proposed",
                ),
                Column("owner", "str", False, ref="user", default=None),
                Column("note", "str", False, default=""),
            ),
        ),
        Entity(
            "customer_order_lines",
            "sop.CustomerOrderLine",
            key=("order_ref", "line"),
            help=(
                "Customer sales order lines, open and shipped: what was requested, by when, "
                "and what shipped when (customer service OTIF)."
            ),
            row_check="sop.extracts.customer_order_lines_check",
            columns=(
                Column("order_ref", "str", max_length=60),
                Column("line", "int", min_value=1),
                Column("customer", "str", max_length=100),
                Column("sku", "str", field="product", ref="product"),
                Column("location_code", "str", field="location", ref="location"),
                Column("requested_date", "date", help="the date the customer asked for"),
                Column("requested_quantity", "decimal", min_value=_NON_NEG),
                Column(
                    "shipped_date",
                    "date",
                    False,
                    default=None,
                    help="the date of the last delivery; empty while the line is open",
                ),
                Column(
                    "shipped_quantity",
                    "decimal",
                    False,
                    min_value=_NON_NEG,
                    default=0,
                    help="the total shipped; needs a shipped_date when above 0",
                ),
            ),
        ),
    )
}

# Load order for a full company: references must exist before the rows that use them. The
# events calendar is planners' data more than an ERP extract: a company loads without it.
LOAD_ORDER: tuple[str, ...] = (
    "suppliers",
    "products",
    "locations",
    "resources",
    "routings",
    "product_sources",
    "sales_history",
    "inventory",
    "receipts",
    "purchase_receipts",
    "capacity",
    "budget",
    "customer_order_lines",
)
