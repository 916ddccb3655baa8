"""factory_boy factories for the core models."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth.models import Group, User

from sop import models


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pass-for-tests-1")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*[Group.objects.get(name=str(r)) for r in extracted])


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Supplier

    code = factory.Sequence(lambda n: f"SUP{n:03d}")
    name = factory.Faker("company")
    lead_time_days_mean = Decimal("30")
    lead_time_days_std = Decimal("5")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Product

    sku = factory.Sequence(lambda n: f"SKU{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    family = "Widgets"
    category = "Hardware"
    unit_cost = Decimal("6.00")
    unit_price = Decimal("10.00")
    lead_time_days = 14


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Location
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"LOC{n}")
    name = factory.LazyAttribute(lambda o: f"Warehouse {o.code}")


class ResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Resource

    code = factory.Sequence(lambda n: f"RES{n}")
    name = factory.LazyAttribute(lambda o: f"Line {o.code}")


class SalesHistoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.SalesHistory

    product = factory.SubFactory(ProductFactory)
    location = factory.SubFactory(LocationFactory)
    month = dt.date(2026, 1, 1)
    quantity = Decimal("100")


class CycleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Cycle
        django_get_or_create = ("month",)

    month = dt.date(2026, 11, 1)
