"""Template context shared by every page: the navigation for the user's roles, the currency."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from sop import formatting
from sop.roles import user_roles
from sop.selectors import notifications_unread_count

# (label, url name, roles that see it; empty = everyone signed in, permission or None)
NAV_ITEMS: list[tuple[str, str, str | None]] = [
    ("Cycle home", "sop:home", None),
    ("Demand review", "demand:review", None),
    ("Supply review", "supply:review", None),
    ("Reconciliation", "reconciliation:review", None),
    ("Executive review", "executive:signoff", None),
    ("Imports", "sop:import_list", "sop.run_import"),
    ("Audit", "sop:audit", "sop.view_auditevent"),
    ("Master data", "admin:index", "sop.change_product"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = []
    for label, url_name, perm in NAV_ITEMS:
        if perm and not user.has_perm(perm):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        active = request.path == url or (url != "/" and request.path.startswith(url))
        items.append({"label": label, "url": url, "active": active})
    return {
        "nav_items": items,
        "user_roles": sorted(user_roles(user)),
        "unread_notifications": notifications_unread_count(user=user),
    }


def formats(request):
    """The company's currency, for headers that carry it ("Revenue (EUR)")."""
    return {"currency": formatting.currency()}
