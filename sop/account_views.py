"""Pages of accounts: users and sign-in lock-outs (admins), the password change."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_GET, require_POST

from sop import accounts


@require_GET
@permission_required("auth.change_user", raise_exception=True)
def users(request: HttpRequest) -> HttpResponse:
    """Every user with their roles, last sign-in and state; the lock-outs now in force."""
    people = get_user_model().objects.prefetch_related("groups").order_by("username")
    rows = [
        {"user": u, "roles": sorted(g.name for g in u.groups.all()), "me": u.pk == request.user.pk}
        for u in people
    ]
    return render(
        request,
        "sop/users.html",
        {
            "rows": rows,
            "lockouts": accounts.lockouts(),
            "account_limit": settings.AXES_FAILURE_LIMIT,
            "address_limit": settings.SOP_LOGIN_ADDRESS_FAILURE_LIMIT,
        },
    )


@require_POST
@permission_required("auth.change_user", raise_exception=True)
def user_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate a user (their sessions end at once) or reactivate them."""
    target = get_object_or_404(get_user_model(), pk=pk)
    active = request.POST.get("active") == "1"
    reason = request.POST.get("reason", "").strip()
    if not active and not reason:
        messages.error(request, f"Say why {target.get_username()} is deactivated.")
        return redirect("sop:users")
    try:
        ended = accounts.user_set_active(
            target=target, active=active, user=request.user, reason=reason
        )
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("sop:users")
    if active:
        messages.success(request, f"{target.get_username()} may sign in again.")
    else:
        messages.success(
            request,
            f"{target.get_username()} is deactivated; {ended} open session(s) ended.",
        )
    return redirect("sop:users")


@require_POST
@permission_required("auth.change_user", raise_exception=True)
def lockout_lift(request: HttpRequest) -> HttpResponse:
    kind, key = request.POST.get("kind", ""), request.POST.get("key", "")
    if kind not in accounts.LOCKOUT_KINDS:
        return HttpResponse("Say whether an account or an address is lifted.", status=400)
    lifted = accounts.lockout_lift(
        kind=kind, key=key, user=request.user, reason=request.POST.get("reason", "")
    )
    if lifted:
        messages.success(request, f"The lock-out of {key} is lifted: it may sign in again.")
    else:
        messages.info(request, f"The lock-out of {key} had already ended.")
    return redirect("sop:users")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change: the session that changed it stays signed in, every
    other session of the user ends (their stored password hash no longer matches)."""

    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form):
        response = super().form_valid(form)
        accounts.password_changed(request=self.request)
        return response
