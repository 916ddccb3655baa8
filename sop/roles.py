"""Which permissions each role (Django group) holds.

This mapping is the single source of truth: a post-migrate hook makes every group hold
exactly these permissions, so a new app only adds its codenames here.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied

from sop.choices import Role

_MASTER_DATA = (
    "supplier",
    "product",
    "location",
    "resource",
    "routing",
    "productsource",
    "saleshistory",
    "inventorysnapshot",
    "scheduledreceipt",
    "capacity",
    "budget",
    "customerorderline",
)

# Finance and supply planners build the what-ifs of the reconciliation together.
_SCENARIO_WORK = (
    "reconciliation.add_scenario",
    "reconciliation.change_scenario",
    "reconciliation.delete_scenario",
    "reconciliation.recommend_scenario",
    "reconciliation.add_decisionlogentry",
    "reconciliation.change_risk",
)

# The events calendar (promotions, price changes, launches) is kept by marketing and the
# demand planners; admins keep it as master data.
_EVENTS = ("sop.add_event", "sop.change_event", "sop.delete_event")

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.ADMIN: (
        "sop.open_cycle",
        "sop.start_cycle",
        "sop.override_data_check",
        "sop.run_import",
        "sop.view_importjob",
        *(
            f"sop.{action}_{model}"
            for model in ("importprofile", "importsource")
            for action in ("view", "add", "change", "delete")
        ),
        "sop.view_cycle",
        "sop.change_cycle",
        "sop.view_auditevent",
        "sop.manage_apitoken",
        *_EVENTS,
        # Admins add input streams (and say which role enters each) in the Django admin.
        "demand.view_inputstream",
        "demand.add_inputstream",
        "demand.change_inputstream",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
        *(
            f"sop.{action}_{model}"
            for model in _MASTER_DATA
            for action in ("view", "add", "change", "delete")
        ),
    ),
    Role.DEMAND_PLANNER: (
        "sop.submit_demand_review",
        *_EVENTS,
        "demand.run_forecast",
        "demand.change_demandoverride",
        "demand.change_consensussource",
        "reconciliation.add_decisionlogentry",
        "reconciliation.change_risk",
    ),
    Role.SUPPLY_PLANNER: (
        "sop.submit_supply_review",
        "sop.submit_reconciliation",
        "supply.run_supply",
        "supply.change_plannedsupplyedit",
        "supply.change_capacityadjustment",
        *_SCENARIO_WORK,
    ),
    Role.FINANCE: ("sop.submit_reconciliation", *_SCENARIO_WORK),
    # Executives govern the plan, so they read the audit trail as admins do.
    Role.EXECUTIVE: (
        "sop.approve_plan",
        "sop.view_auditevent",
        "reconciliation.add_decisionlogentry",
        "reconciliation.change_risk",
    ),
    # Sales and marketing bring their input to the demand review: each writes only the input
    # streams of its own role (`demand.services.streams.stream_can_write`).
    Role.SALES: ("demand.change_streamentry",),
    Role.MARKETING: (*_EVENTS, "demand.change_streamentry"),
}


def sync_role_permissions(**kwargs) -> None:
    """Create the role groups and give each exactly the permissions listed above."""
    from django.contrib.auth.models import Group, Permission

    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=str(role))
        wanted = set()
        for dotted in perms:
            app_label, codename = dotted.split(".", 1)
            wanted.update(
                Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)


def user_roles(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_sop_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._sop_roles = cached
    return cached


def require(user, perm: str, action: str) -> None:
    """Refuse `action` (a verb phrase: "change capacity") unless `user` holds `perm`.

    Services call it first, so views, tasks and commands meet the same check; a view lets
    the PermissionDenied through and Django answers 403. user=None is the system itself
    (a stage signal, beat, the demo seeder, a benchmark).
    """
    if user is None or user.has_perm(perm):
        return
    holders = [str(role) for role, perms in ROLE_PERMISSIONS.items() if perm in perms]
    raise PermissionDenied(f"Only {' or '.join(holders) or 'an administrator'} can {action}.")


def display_name(user: AbstractBaseUser | None) -> str:
    """A user as the pages and messages name them: full name, else username."""
    if user is None:
        return "someone"
    return user.get_full_name() or user.get_username()


def who(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    """The user to record as author: None for the system or an anonymous request."""
    return user if user is not None and user.is_authenticated else None
