"""The documented ERP extract formats: one declaration per entity.

The importer validates against these declarations, the demo generator writes files from
them and docs/import-formats.md describes them; keeping the columns in one place keeps the
three in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # str | int | decimal | month | date | choice | bool
    required: bool = True
    field: str | None = None  # model field; defaults to the column name
    ref: str | None = None  # product | location | resource | supplier | family
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
    # (later, earlier): two date columns of a row; the later may not come before the earlier
    # when both are given.
    not_before: tuple[tuple[str, str], ...] = ()

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


_NON_NEG = 0.0

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
            ),
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
            not_before=(("receipt_date", "order_date"), ("promised_date", "order_date")),
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
    )
}

# Load order for a full company: references must exist before the rows that use them.
LOAD_ORDER: tuple[str, ...] = (
    "suppliers",
    "products",
    "locations",
    "resources",
    "routings",
    "sales_history",
    "inventory",
    "receipts",
    "purchase_receipts",
    "capacity",
    "budget",
)
