"""Django admin for master data; plan data is edited on the cycle pages, not here."""

from __future__ import annotations

from django.contrib import admin

from sop import models


@admin.register(models.Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "lead_time_days_mean", "lead_time_days_std")
    search_fields = ("code", "name")


@admin.register(models.Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = (
        "sku",
        "name",
        "family",
        "category",
        "make_or_buy",
        "unit_cost",
        "unit_price",
        "abc_class",
        "active",
    )
    list_filter = ("family", "make_or_buy", "abc_class", "active")
    search_fields = ("sku", "name", "family")
    list_select_related = ("supplier",)
    autocomplete_fields = ("supplier",)


@admin.register(models.Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind")
    search_fields = ("code", "name")


@admin.register(models.Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "location")
    list_filter = ("kind",)
    search_fields = ("code", "name")


@admin.register(models.Routing)
class RoutingAdmin(admin.ModelAdmin):
    list_display = ("product", "resource", "hours_per_unit")
    list_select_related = ("product", "resource")
    search_fields = ("product__sku", "resource__code")
    autocomplete_fields = ("product", "resource")


class _FactAdmin(admin.ModelAdmin):
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


@admin.register(models.Capacity)
class CapacityAdmin(admin.ModelAdmin):
    list_display = ("resource", "month", "hours")
    list_filter = ("resource",)
    date_hierarchy = "month"


@admin.register(models.Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = ("family", "month", "revenue", "volume")
    list_filter = ("family",)
    date_hierarchy = "month"
