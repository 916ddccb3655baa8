"""Template context shared by every page: the navigation for the user's roles, the currency."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from sop import formatting
from sop.roles import user_roles
from sop.selectors import notifications_unread_count

# (label, url name, roles that see it; empty = everyone signed in, permission or None)
NAV_ITEMS: list[tuple[str, str, str | None]] = [
    ("Cycle home", "sop:home", None),
    ("Demand review", "demand:review", None),
    ("Events", "sop:event_list", None),
    ("Supply review", "supply:review", None),
    ("Reconciliation", "reconciliation:review", None),
    ("Executive review", "executive:signoff", None),
    ("Imports", "sop:import_list", "sop.run_import"),
    ("Audit", "sop:audit", "sop.view_auditevent"),
    ("Users", "sop:users", "auth.change_user"),
    ("Master data", "admin:index", "sop.change_product"),
]


def navigation(request):
    """Lazy: the htmx partials (a grid cell's save) never show the navigation, nor read it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_items": SimpleLazyObject(lambda: _nav_items(request, user)),
        "user_roles": SimpleLazyObject(lambda: sorted(user_roles(user))),
        "unread_notifications": SimpleLazyObject(lambda: notifications_unread_count(user=user)),
    }


def _nav_items(request, user) -> list[dict]:
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
    return items


def formats(request):
    """The company's currency, for headers that carry it ("Revenue (EUR)")."""
    return {"currency": formatting.currency()}
