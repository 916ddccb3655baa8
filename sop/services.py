"""Writes of the core: cycles and their stage transitions, audit events."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from decimal import Decimal
from functools import partial
from typing import Any

import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone

from sop import checks, notifications, workflow
from sop.choices import Stage, TokenScope
from sop.models import ApiToken, AuditEvent, Cycle, CycleTransition
from sop.months import add_months
from sop.roles import display_name, require, who
from sop.steps import steps, steps_in


class TransitionRefused(ValidationError):
    """A stage move that the workflow does not allow now (wrong order or a failing gate)."""


def audit_record(
    *,
    user: AbstractBaseUser | None,
    action: str,
    object_type: str,
    object_id: str | int = "",
    cycle: Cycle | None = None,
    old: Any = None,
    new: Any = None,
    reason: str = "",
) -> AuditEvent:
    return AuditEvent.objects.create(
        user=who(user),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        cycle=cycle,
        old=old,
        new=new,
        reason=reason,
    )


def audit_of(
    obj: models.Model,
    action: str,
    *,
    user: AbstractBaseUser | None,
    old: Any = None,
    new: Any = None,
    reason: str = "",
) -> AuditEvent:
    """Record `action` on a model row: its type and key, and its cycle (or itself, a cycle).

    The object type is the model's name in snake case (ForecastRun -> forecast_run), the
    name the audit page filters on.
    """
    return audit_record(
        user=user,
        action=action,
        object_type=re.sub(r"(?<!^)(?=[A-Z])", "_", type(obj).__name__).lower(),
        object_id=obj.pk,
        cycle=obj if isinstance(obj, Cycle) else getattr(obj, "cycle", None),
        old=old,
        new=new,
        reason=reason,
    )


def audit_number(value: Decimal | float | None) -> str | None:
    """A quantity as the audit trail records it (80, -30, 12.5); None stays None."""
    return None if value is None else format(Decimal(str(value)).normalize(), "f")


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def cycle_open(
    *, month: dt.date, user: AbstractBaseUser | None = None, horizon_months: int = 18
) -> Cycle:
    """Open the cycle for `month` in draft, with default due dates inside that month.

    Each step's `on_open` runs in the same transaction (the reconciliation carries the
    previous cycle's assumptions and risks over) and its figures go into the one audit
    event. The demand overrides are carried later, when the demand review starts (the
    demand step's `on_enter`), so that the copy holds the previous plan as finally approved.
    """
    require(user, "sop.open_cycle", "open a planning cycle")
    month = first_of_month(month)
    with transaction.atomic():
        if Cycle.objects.filter(month=month).exists():
            raise ValidationError(f"The cycle for {month:%B %Y} is already open.")
        if blocker := checks.cycle_open_blocker(month):
            raise ValidationError(blocker)
        cycle = Cycle.objects.create(
            month=month,
            horizon_months=horizon_months,
            demand_review_due=month + dt.timedelta(days=6),
            supply_review_due=month + dt.timedelta(days=11),
            reconciliation_due=month + dt.timedelta(days=16),
            executive_review_due=month + dt.timedelta(days=20),
            created_by=who(user),
        )
        opened: dict[str, Any] = {"month": month.isoformat(), "stage": cycle.stage}
        for step in steps():
            opened.update(step.on_open(cycle))
        audit_of(cycle, "cycle.open", user=user, new=opened)
    return cycle


def carry_forward(
    model: type[models.Model],
    *,
    cycle: Cycle,
    fields: tuple[str, ...],
    keep: models.Q | None = None,
    order: tuple[str, ...] = ("id",),
) -> int:
    """Copy the previous cycle's rows of `model` (those `keep` selects) into a newly opened
    `cycle`, with `fields` and a `carried_from` link to the original.

    Idempotent: a row already carried into this cycle is not copied twice. Returns how many
    were copied.
    """
    from sop.selectors import cycle_previous

    previous = cycle_previous(cycle=cycle)
    if previous is None:
        return 0
    done = model.objects.filter(cycle=cycle, carried_from__isnull=False).values("carried_from")
    rows = model.objects.filter(keep or models.Q(), cycle=previous).exclude(pk__in=done)
    copies = [
        model(cycle=cycle, carried_from=row, **{name: getattr(row, name) for name in fields})
        for row in rows.order_by(*order)
    ]
    model.objects.bulk_create(copies)
    return len(copies)


def cycle_next_month() -> dt.date:
    """The month of the cycle an admin opens next: the one after the newest cycle."""
    latest = Cycle.objects.order_by("-month").values_list("month", flat=True).first()
    if latest is None:
        return first_of_month(timezone.localdate())
    return add_months(latest, 1)


def cycle_advance(
    *,
    cycle: Cycle,
    target: str,
    user: AbstractBaseUser,
    comment: str = "",
    override: bool = False,
) -> CycleTransition:
    """Move `cycle` to stage `target` if the workflow, the user's role and the checks allow it.

    The row is locked so two people submitting the same stage at once cannot both pass.
    A move forward also needs the stage's data checks (`sop.checks`): a failing one refuses
    it unless `override` is asked by someone who may (an admin) with a comment, which goes
    into the transition and an audit event naming the checks; and a stage reopened by a
    send-back must answer it, with a change to the plan since or with the comment. The
    steps' hooks run in this order (see `sop.steps`): `on_leave` of the stage being
    left (the demand plan freeze, the plan freeze on approval), `on_enter` of the stage
    entered (the demand overrides carry-over), both inside the transaction and before the
    stage is saved, so a hook that refuses rolls the move back; then, after commit,
    `after_enter` (the base scenario run of the reconciliation).
    """
    comment = comment.strip()
    with transaction.atomic():
        locked = Cycle.objects.select_for_update().get(pk=cycle.pk)
        move = workflow.find_move(locked.stage, target)
        if move is None:
            raise TransitionRefused(
                f"A cycle in {Stage(locked.stage).label} cannot move to {Stage(target).label}."
            )
        require(user, move.permission, move.verb.lower())
        if move.comment_required and not comment:
            raise TransitionRefused(f"{move.verb} needs a comment saying why.")
        failures = workflow.gate_failures(locked, locked.stage)
        if failures:
            raise TransitionRefused(failures)
        forward = workflow.is_forward(move)
        overridden = _data_checks_overridden(locked, move, user, comment, override, forward)
        answered = checks.send_back_open(locked) if forward else None
        if answered is not None and not answered.changes and not comment:
            raise TransitionRefused(checks.send_back_refusal(answered))
        if overridden:
            comment = f"Data checks overridden ({'; '.join(overridden)}): {comment}"
        transition = CycleTransition.objects.create(
            cycle=locked, from_stage=locked.stage, to_stage=target, user=user, comment=comment
        )
        source = locked.stage
        for step in steps_in(source):
            step.on_leave(transition)
        for step in steps_in(target):
            step.on_enter(transition)
            transaction.on_commit(partial(step.after_enter, transition))
        locked.stage = target
        locked.save(update_fields=["stage"])
        moved: dict[str, Any] = {"stage": target}
        if answered is not None:
            moved["answers_send_back"] = {
                "sent_back_at": answered.transition.at.isoformat(),
                "by": display_name(answered.transition.user),
                "why": answered.transition.comment,
                "changes": answered.changes,
            }
        audit_of(
            locked,
            "cycle.transition",
            user=user,
            old={"stage": source},
            new=moved,
            reason=comment,
        )
        if overridden:
            audit_of(
                locked,
                "cycle.check_override",
                user=user,
                old={"failing": overridden},
                new={"move": move.verb, "stage": target},
                reason=comment,
            )
        notifications.notify_transition(transition=transition)
    cycle.stage = target
    return transition


def _data_checks_overridden(
    cycle: Cycle,
    move: workflow.Move,
    user: AbstractBaseUser,
    comment: str,
    override: bool,
    forward: bool,
) -> list[str]:
    """The failing data checks this move overrides (as sentences); refuse the move if it
    may not: without `override`, without the permission, or without a comment."""
    failing = checks.data_check_failures(cycle, cycle.stage) if forward else []
    if not failing:
        return []
    sentences = [checks.check_sentence(check) for check in failing]
    if not override:
        raise TransitionRefused(sentences)
    require(user, checks.OVERRIDE_PERMISSION, "override a failing data check")
    if not comment:
        raise TransitionRefused(
            f"{move.verb} despite a failing data check needs a comment saying why."
        )
    return sentences


def api_token_create(
    *, owner: AbstractBaseUser, name: str, scope: str, user: AbstractBaseUser | None
) -> tuple[ApiToken, str]:
    """A new API token of `owner`; returns the row and the token's text, shown this once.

    Users create their own tokens; an admin may create one for someone else (a service
    account for the ERP), and the audit trail says who did.
    """
    _require_token_holder(user, owner, "create API tokens for other users")
    name = name.strip()
    if not name:
        raise ValidationError("Name the token: what is it for (the ERP, a report)?")
    if len(name) > ApiToken._meta.get_field("name").max_length:
        raise ValidationError("A token's name has at most 100 characters.")
    if scope not in TokenScope.values:
        raise ValidationError(f"Choose the token's scope: {' or '.join(TokenScope.values)}.")
    if not owner.is_active:
        raise ValidationError(f"{owner.get_username()} is deactivated: a token would not work.")
    prefix = secrets.token_hex(6)
    raw = f"sop_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=owner,
            name=name,
            scope=scope,
            prefix=prefix,
            secret_hash=ApiToken.digest(raw),
            created_by=who(user),
        )
        audit_record(
            user=user,
            action="api_token.create",
            object_type="api_token",
            object_id=prefix,
            new={"owner": owner.get_username(), "name": name, "scope": scope},
        )
    return token, raw


def api_token_revoke(*, token: ApiToken, user: AbstractBaseUser | None) -> bool:
    """Revoke the token at once; True if it was active (revoking twice changes nothing)."""
    _require_token_holder(user, token.user, "revoke other users' API tokens")
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            audit_record(
                user=user,
                action="api_token.revoke",
                object_type="api_token",
                object_id=token.prefix,
                old={"owner": token.user.get_username(), "name": token.name, "scope": token.scope},
            )
    token.refresh_from_db()
    return bool(revoked)


def _require_token_holder(
    user: AbstractBaseUser | None, owner: AbstractBaseUser, action: str
) -> None:
    if user is None or user.pk != owner.pk:
        require(user, "sop.manage_apitoken", action)


def bulk_insert_frame(model: type[models.Model], frame: pd.DataFrame, *, batch: int = 5000) -> int:
    """Insert a frame whose columns are field attnames: one COPY on PostgreSQL.

    Elsewhere (SQLite) batched INSERTs. Missing values (NaN, NA, None) are stored as NULL.
    Returns the row count.
    """
    if frame.empty:
        return 0
    names = list(frame.columns)
    # tolist() gives Python scalars: drivers cannot bind numpy integers.
    columns = [
        (col.astype(object).where(col.notna(), None) if col.isna().any() else col).tolist()
        for col in (frame[name] for name in names)
    ]
    rows = zip(*columns, strict=True)
    if connection.vendor == "postgresql":
        meta = model._meta
        quote = connection.ops.quote_name
        fields = ", ".join(quote(meta.get_field(name).column) for name in names)
        # Text COPY fed row by row from Python scalars: for the 180,000-row plan grids about
        # twice as fast as formatting the frame as CSV first, and empty strings stay strings.
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({fields}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return len(frame)
    model.objects.bulk_create(
        (model(**dict(zip(names, row, strict=True))) for row in rows), batch_size=batch
    )
    return len(frame)


def products_classify(*, as_of: dt.date | None = None, months: int = 12) -> int:
    """Set every product's ABC/XYZ class from the `months` of sales before `as_of`.

    Without `as_of`, the window ends with the latest month of sales history. Returns how
    many products changed class. Revenue falls back to quantity x unit price where the ERP
    extract carried no revenue.
    """
    import pandas as pd
    from django.db.models import DecimalField, F, Max, Sum
    from django.db.models.functions import Coalesce

    from sop.classification import classify_abc_xyz
    from sop.models import Product, SalesHistory

    if as_of is None:
        latest = SalesHistory.objects.aggregate(latest=Max("month"))["latest"]
        if latest is None:
            return 0
        as_of = add_months(latest, 1)
    end = first_of_month(as_of)
    start = add_months(end, -months)
    products = pd.DataFrame(
        Product.objects.values_list("id", "unit_price", "abc_class", "xyz_class"),
        columns=["id", "price", "abc", "xyz"],
    ).set_index("id")
    if products.empty:
        return 0
    # Summed over locations by the database: a product's months, not its million rows,
    # come into memory (a 1.25M-row import's reclassification took 100 MB more).
    amount = DecimalField(max_digits=30, decimal_places=6)
    sales = pd.DataFrame(
        SalesHistory.objects.filter(month__gte=start, month__lt=end)
        .values_list("product_id", "month")
        .annotate(
            total_quantity=Sum("quantity"),
            total_revenue=Sum(
                Coalesce("revenue", F("quantity") * F("product__unit_price"), output_field=amount)
            ),
        )
        .order_by(),
        columns=["product", "month", "quantity", "revenue"],
    )
    sales["quantity"] = sales["quantity"].astype(float)
    sales["revenue"] = sales["revenue"].astype(float)
    sales["month"] = pd.to_datetime(sales["month"])
    window = pd.date_range(pd.Timestamp(start), periods=months, freq="MS")
    classes = classify_abc_xyz(sales, products=products.index, months=window)
    changed = classes[(classes["abc"] != products["abc"]) | (classes["xyz"] != products["xyz"])]
    Product.objects.bulk_update(
        [Product(pk=pk, abc_class=row.abc, xyz_class=row.xyz) for pk, row in changed.iterrows()],
        ["abc_class", "xyz_class"],
        batch_size=2000,
    )
    return len(changed)
