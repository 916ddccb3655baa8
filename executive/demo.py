"""The executive step's demo builder: a past cycle's approval."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from executive import services
from sop.choices import Role
from sop.models import Cycle


def executive_demo_past(*, cycle: Cycle, users: dict[str, AbstractBaseUser]) -> None:
    """A past cycle's executive review in the demo: approved, which freezes its plan."""
    services.plan_decide(
        cycle=cycle, user=users[Role.EXECUTIVE], approve=True, comment="Demo: approved."
    )
