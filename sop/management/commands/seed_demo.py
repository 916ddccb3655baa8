"""Generate the demo company, write it as ERP extract files and load them like a customer.

Going through files and the importer (not straight into the ORM) means every seed also
exercises the import path end to end.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from sop.choices import JobStatus, Role, Stage
from sop.demo import demo_company
from sop.demo_cycles import demo_past_cycles_build
from sop.demo_lifecycle import demo_lifecycle_build
from sop.extract_reader import ReadOptions
from sop.extracts import LOAD_ORDER
from sop.imports import import_file
from sop.models import Cycle, Event, ImportJob, Product
from sop.services import cycle_advance, cycle_open
from sop.steps import steps

DEMO_PASSWORD = "demo-pass-2026"
DEMO_USERS: dict[str, str] = {
    "admin": Role.ADMIN,
    "demand": Role.DEMAND_PLANNER,
    "supply": Role.SUPPLY_PLANNER,
    "finance": Role.FINANCE,
    "exec": Role.EXECUTIVE,
    "sales": Role.SALES,
    "marketing": Role.MARKETING,
}


def demo_logins() -> str:
    """The demo users as lines to print for whoever just started the demo."""
    lines = [f"  {username:<8} {role}" for username, role in DEMO_USERS.items()]
    return "\n".join([f"Demo logins (password: {DEMO_PASSWORD}):", *lines])


class Command(BaseCommand):
    help = "Load a generated demo company through the ERP importer and open the current cycle."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--skus", type=int, default=200)
        parser.add_argument("--locations", type=int, default=3)
        parser.add_argument("--months", type=int, default=48, help="months of sales history")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--out", type=Path, default=None, help="where to write the extract files"
        )
        parser.add_argument(
            "--today",
            type=dt.date.fromisoformat,
            default=None,
            help="YYYY-MM-DD; the cycle is this date's month (default: today)",
        )
        parser.add_argument(
            "--data-only",
            action="store_true",
            help="load the extracts and open the cycle, skip the post-seed steps (past "
            "approved cycles, first forecast and supply runs): for benchmarks that start their own",
        )

    def handle(
        self, *args, skus, locations, months, seed, out, today, data_only, **options
    ) -> None:
        started = time.perf_counter()
        today = today or timezone.localdate()
        out = out or Path(settings.VAR_DIR) / "demo-extracts"
        try:
            company = demo_company(
                skus=skus, locations=locations, months=months, seed=seed, today=today
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        frames = company.frames
        out.mkdir(parents=True, exist_ok=True)
        paths = {}
        for entity, frame in frames.items():
            paths[entity] = out / f"{entity}.csv"
            frame.to_csv(paths[entity], index=False, encoding="utf-8")

        products = frames["products"]
        self.stdout.write(
            f"Demo company: {len(products)} SKUs in {products['family'].nunique()} families, "
            f"{len(frames['locations'])} locations, {months} months of history "
            f"(files in {out})."
        )
        users = _ensure_users()
        admin = next(u for u in users if u.username == "admin")
        # Report as it goes: with the post-seed steps a big company takes minutes.
        for entity in LOAD_ORDER:
            job = _load(entity, paths[entity], admin)
            self.stdout.write(
                f"  {job.entity:<20} {job.rows_read:>8} rows: {job.rows_inserted} new, "
                f"{job.rows_updated} updated, {job.rows_unchanged} unchanged"
            )
        recorded = _load_events(
            company.events, owner=next(u for u in users if u.username == "marketing")
        )
        self.stdout.write(f"  {'events':<20} {recorded:>8} recorded (past promotions and plans)")
        if not data_only:
            # The past cycles first, so the open cycle carries over from the last of them.
            past_started = time.perf_counter()
            by_role = {DEMO_USERS[user.username]: user for user in users}
            past = demo_past_cycles_build(before=today.replace(day=1), users=by_role)
            self.stdout.write(
                f"  {len(past)} past cycles approved with frozen plans "
                f"{time.perf_counter() - past_started:.1f} s"
            )
            lifecycle = demo_lifecycle_build(month=today.replace(day=1))
            if lifecycle:
                self.stdout.write(
                    f"  new product {lifecycle['new']} like {lifecycle['like']}; "
                    f"{lifecycle['ending']} ends within the horizon"
                )
        cycle = _open_cycle(today.replace(day=1), admin)
        # Each planning step adds its demo data (`Step.demo`), e.g. the cycle's first
        # forecast run, called with the open cycle and the admin.
        for step in () if data_only else [s for s in steps() if s.demo is not None]:
            step_started = time.perf_counter()
            self.stdout.write(f"  {step.demo.__module__}.{step.demo.__name__} ...", ending="")
            self.stdout.flush()
            step.demo(cycle=cycle, user=admin)
            self.stdout.write(f" {time.perf_counter() - step_started:.1f} s")
        self.stdout.write(f"{cycle} is in {Stage(cycle.stage).label.lower()}.")
        self.stdout.write(demo_logins())
        self.stdout.write(self.style.SUCCESS(f"Seeded in {time.perf_counter() - started:.1f} s."))


def _ensure_users() -> list[User]:
    """One user per role, reset to the documented password so the README stays true."""
    # Hashing is slow by design; the password is public anyway, so hash it once for all.
    password = make_password(DEMO_PASSWORD)
    users = []
    with transaction.atomic():
        for username, role in DEMO_USERS.items():
            user, _ = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@demo.invalid"}
            )
            # Admin reaches the Django admin for master data through its group's
            # permissions; a superuser would bypass the role model the demo shows off.
            user.is_staff = role == Role.ADMIN
            user.is_superuser = False
            user.is_active = True
            user.password = password
            user.save()
            user.groups.set([Group.objects.get(name=str(role))])
            users.append(user)
    return users


def _load_events(frame, *, owner: User) -> int:
    """The demo's events calendar (`sop.demo.EVENT_FIELDS`); seeding again keeps the events
    that exist. Before the past cycles, so their forecasts are fitted on cleansed history."""
    product_of = dict(Product.objects.values_list("sku", "pk"))
    known = set(Event.objects.values_list("code", flat=True))
    rows = [
        Event(
            code=r.code,
            name=r.name,
            kind=r.kind,
            scope=r.scope,
            family=r.family,
            product_id=product_of.get(r.sku) if r.sku else None,
            start_month=r.start_month,
            end_month=r.end_month,
            effect_kind=r.effect_kind,
            effect_value=Decimal(str(r.effect_value)),
            dip_months=r.dip_months,
            dip_percent=Decimal(str(r.dip_percent)),
            status=r.status,
            owner=owner,
            created_by=owner,
            note=r.note,
        )
        for r in frame.itertuples()
        if r.code not in known
    ]
    Event.objects.bulk_create(rows)
    return len(rows)


def _load(entity: str, path: Path, user: User) -> ImportJob:
    # pandas wrote the files with a decimal point; a cost such as 12.345 needs it said.
    options = ReadOptions.with_number_format("1234.5")
    job = import_file(entity=entity, path=path, user=user, file_name=path.name, options=options)
    if job.status != JobStatus.SUCCEEDED:
        problems = "; ".join(str(error) for error in job.errors[:5]) or job.message
        raise CommandError(f"Importing the demo {entity} {job.status}: {problems}")
    return job


def _open_cycle(month: dt.date, admin: User) -> Cycle:
    """Open this month's cycle and start its demand review, so planners have work waiting."""
    cycle = Cycle.objects.filter(month=month).first() or cycle_open(month=month, user=admin)
    if cycle.stage == Stage.DRAFT:
        cycle_advance(
            cycle=cycle, target=Stage.DEMAND_REVIEW, user=admin, comment="Demo company loaded."
        )
    return cycle
