"""Django admin for master data; plan data is edited on the cycle pages, not here.

Every create, change and delete made here is an audit event with old -> new
(`sop.master_audit`), in the admin's own transaction.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction

from sop import models
from sop.master_audit import master_change_record, row_values

AUDIT_REASON = "in the admin"


class AuditedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose saves and deletes are audit events."""

    def save_model(self, request, obj, form, change) -> None:
        old = row_values(type(obj)._default_manager.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        master_change_record(user=request.user, obj=obj, old=old, reason=AUDIT_REASON)

    def delete_model(self, request, obj) -> None:
        master_change_record(
            user=request.user, obj=obj, old=None, deleted=True, reason=AUDIT_REASON
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        # The "delete selected" action runs outside the admin's view transaction.
        with transaction.atomic():
            for obj in queryset:
                master_change_record(
                    user=request.user, obj=obj, old=None, deleted=True, reason=AUDIT_REASON
                )
            super().delete_queryset(request, queryset)


@admin.register(models.Supplier)
class SupplierAdmin(AuditedAdmin):
    list_display = ("code", "name", "lead_time_days_mean", "lead_time_days_std")
    search_fields = ("code", "name")


@admin.register(models.Product)
class ProductAdmin(AuditedAdmin):
    list_display = (
        "sku",
        "name",
        "family",
        "category",
        "make_or_buy",
        "unit_cost",
        "unit_price",
        "abc_class",
        "like_product",
        "end_of_life_month",
        "active",
    )
    list_filter = ("family", "make_or_buy", "abc_class", "active")
    search_fields = ("sku", "name", "family")
    list_select_related = ("supplier", "like_product")
    autocomplete_fields = ("supplier", "like_product")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("sku", "name"),
                    ("family", "category", "uom"),
                    ("unit_cost", "unit_price"),
                    ("make_or_buy", "supplier", "lead_time_days"),
                    ("moq", "lot_size"),
                    ("abc_class", "xyz_class", "active"),
                )
            },
        ),
        (
            "Lifecycle",
            {
                "description": (
                    "A product with less history than the forecast engine needs is forecast "
                    "from its like product at the same location, times the factor, ramped up "
                    "linearly from its launch month; from its end-of-life month on it is "
                    "forecast to zero. Months are the first day of the month."
                ),
                "fields": (
                    ("like_product", "like_factor", "launch_ramp_months"),
                    ("launch_month", "end_of_life_month"),
                ),
            },
        ),
    )


@admin.register(models.Location)
class LocationAdmin(AuditedAdmin):
    list_display = ("code", "name", "kind")
    search_fields = ("code", "name")


@admin.register(models.Resource)
class ResourceAdmin(AuditedAdmin):
    list_display = ("code", "name", "kind", "location")
    list_filter = ("kind",)
    search_fields = ("code", "name")


@admin.register(models.Routing)
class RoutingAdmin(AuditedAdmin):
    list_display = ("product", "resource", "hours_per_unit")
    list_select_related = ("product", "resource")
    search_fields = ("product__sku", "resource__code")
    autocomplete_fields = ("product", "resource")


@admin.register(models.ProductSource)
class ProductSourceAdmin(AuditedAdmin):
    list_display = (
        "product",
        "location",
        "supplier",
        "resource",
        "priority",
        "unit_cost",
        "lead_time_days",
        "monthly_capacity",
        "active",
    )
    list_filter = ("active", "location")
    list_select_related = ("product", "location", "supplier", "resource")
    search_fields = ("product__sku", "supplier__code", "resource__code")
    autocomplete_fields = ("product", "supplier", "resource")


@admin.register(models.Event)
class EventAdmin(AuditedAdmin):
    """The events calendar's rows; planners keep them on the events page, whose services
    check the calendar's rules (the months, a scope that names something)."""

    list_display = ("code", "name", "kind", "scope", "family", "product", "start_month")
    list_display += ("end_month", "effect_kind", "effect_value", "status", "owner")
    list_filter = ("kind", "status", "scope", "effect_kind")
    list_select_related = ("product", "owner")
    search_fields = ("code", "name", "family", "product__sku")
    autocomplete_fields = ("product",)
    filter_horizontal = ("locations",)
    readonly_fields = ("version", "created_by", "updated_by")
    date_hierarchy = "start_month"

    def save_model(self, request, obj, form, change) -> None:
        # The locations are saved after the row (save_related): audit once both are in.
        obj._audit_old = row_values(type(obj)._default_manager.get(pk=obj.pk)) if change else None
        if change:  # a page opened on the old version must not overwrite this change
            obj.version += 1
        admin.ModelAdmin.save_model(self, request, obj, form, change)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        obj = form.instance
        master_change_record(user=request.user, obj=obj, old=obj._audit_old, reason=AUDIT_REASON)


class _FactAdmin(AuditedAdmin):
    list_select_related = ("product", "location")
    search_fields = ("product__sku",)
    autocomplete_fields = ("product", "location")
    list_per_page = 50


@admin.register(models.SalesHistory)
class SalesHistoryAdmin(_FactAdmin):
    list_display = ("product", "location", "month", "quantity", "revenue")
    list_filter = ("location",)
    date_hierarchy = "month"


@admin.register(models.InventorySnapshot)
class InventorySnapshotAdmin(_FactAdmin):
    list_display = ("product", "location", "date", "on_hand")
    date_hierarchy = "date"


@admin.register(models.ScheduledReceipt)
class ScheduledReceiptAdmin(_FactAdmin):
    list_display = ("order_ref", "product", "location", "due_month", "quantity", "kind")
    list_filter = ("kind", "location")
    search_fields = ("order_ref", "product__sku")


@admin.register(models.CustomerOrderLine)
class CustomerOrderLineAdmin(_FactAdmin):
    list_display = (
        "order_ref",
        "line",
        "customer",
        "product",
        "location",
        "requested_date",
        "requested_quantity",
        "shipped_date",
        "shipped_quantity",
    )
    list_filter = ("location",)
    search_fields = ("order_ref", "customer", "product__sku")
    date_hierarchy = "requested_date"


@admin.register(models.PurchaseReceipt)
class PurchaseReceiptAdmin(_FactAdmin):
    list_display = (
        "order_ref",
        "supplier",
        "product",
        "location",
        "promised_date",
        "promised_quantity",
        "receipt_date",
        "received_quantity",
    )
    list_filter = ("supplier", "location")
    search_fields = ("order_ref", "product__sku", "supplier__code")
    date_hierarchy = "promised_date"


@admin.register(models.Capacity)
class CapacityAdmin(AuditedAdmin):
    list_display = ("resource", "month", "hours")
    list_filter = ("resource",)
    date_hierarchy = "month"


@admin.register(models.Budget)
class BudgetAdmin(AuditedAdmin):
    list_display = ("family", "month", "revenue", "volume")
    list_filter = ("family",)
    date_hierarchy = "month"
