"""The REST API: one NinjaAPI, its error format, what the routes share, and the core's routes.

django-ninja builds the OpenAPI schema and the browsable docs from the routes' type hints
(docs/api.md says why it and not Django REST framework). Every route calls the services
and selectors the pages call, as the token's user (`sop.api_auth`), so a role may do
through the API exactly what it may do on the pages. Each planning app adds its router
(`<app>/api.py`); `sop/urls.py` mounts them, the core naming no app.

Errors are JSON: {"detail": "why"}, and for refused rows or parameters {"detail", "errors":
[{"row", "field", "value", "reason"}]}.
"""

# No `from __future__ import annotations`: django-ninja reads the routes' parameter types
# at import, and a paginated route's wrapper cannot resolve them from strings.

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from ninja import Field, NinjaAPI, Query, Schema, Status
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as RequestInvalid
from ninja.pagination import LimitOffsetPagination, paginate
from pydantic import BeforeValidator, WithJsonSchema

from sop import import_problems, imports, run_views, runs, selectors, services
from sop.api_auth import TokenAuth
from sop.choices import JobStatus, Stage
from sop.extract_reader import parse_month
from sop.models import Cycle, ImportJob, Run
from sop.roles import require

PAGE_SIZE = 100
PAGE_SIZE_MAX = 1000


def _docs_access(view: Callable) -> Callable:
    """The schema and the docs page: for a signed-in browser, or a client with a token."""
    view = require_GET(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            if "Authorization" not in request.headers:
                return redirect_to_login(request.get_full_path())
            try:
                TokenAuth()(request)
            except AuthenticationError as exc:
                return api.on_exception(request, exc)
        return view(request, *args, **kwargs)

    return login_not_required(wrapper)


class SopAPI(NinjaAPI):
    """Names each operation in the schema as its URL is named: after its function."""

    def get_openapi_operation_id(self, operation) -> str:
        return operation.view_func.__name__


api = SopAPI(
    title="S&OP API",
    version="1",
    description=(
        "The S&OP cycle over HTTP: cycles and their stage, master data and facts push, the "
        "consensus demand, overrides, the supply plan, runs and the approved plan. Send a "
        "token (create one under *API tokens* in the app): `Authorization: Bearer sop_…`. "
        "A token acts as its user, with the same role permissions as the pages; a read-only "
        "token may only GET. Guide with a curl example per route: docs/api.md."
    ),
    auth=TokenAuth(),
    urls_namespace="api",
    docs_decorator=_docs_access,
)


def urls(routers: dict[str, str]) -> tuple[list, str, str]:
    """The API's URL patterns, with the apps' `routers` (prefix -> dotted path) mounted.

    The token (or, for the docs, the session) says who calls: no route asks to sign in.
    """
    for prefix, router in routers.items():
        api.add_router(prefix, router)
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        # LoginRequiredMiddleware would send an API client to the sign-in page.
        login_not_required(pattern.callback)
    return patterns, app_name, namespace


# --- errors ------------------------------------------------------------------------------------


class Error(Schema):
    detail: str


class RowError(Schema):
    """One refused value: row n is the n-th row sent (0: the request as a whole)."""

    row: int | None = None
    field: str
    value: str = ""
    reason: str


class Refused(Schema):
    detail: str
    errors: list[RowError]


def error(request: HttpRequest, status: int, detail: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"detail": detail, **extra}, status=status)


def answers(ok: dict[int, Any], *codes: int) -> dict[int, Any]:
    """A route's responses for the schema: its own, and the errors every route may give."""
    return {**ok, **dict.fromkeys((401, 403, 404, *codes), Error), 422: Refused}


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error(request, 401, exc.message)
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return error(request, 403, str(exc) or "Your role may not do this.")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error(request, 404, str(exc) or "Not found.")


@api.exception_handler(ValidationError)
def _refused(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # A run already under way is a conflict of state, as an edit conflict is.
    status = 409 if isinstance(exc, runs.RunInProgress) else 400
    return error(request, status, " ".join(exc.messages))


@api.exception_handler(RequestInvalid)
def _invalid(request: HttpRequest, exc: RequestInvalid) -> HttpResponse:
    errors = [
        {"field": ".".join(str(part) for part in e["loc"]), "reason": e["msg"]} for e in exc.errors
    ]
    return error(request, 422, "The request is not valid: see errors.", errors=errors)


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return error(
        request, 413, "The request body is larger than 5 MB: send the rows in several pushes."
    )


# --- what the routes share ---------------------------------------------------------------------


def _month(value: object) -> object:
    if isinstance(value, str):
        parsed = parse_month(value.strip())
        if parsed is None:
            raise ValueError("a month is written YYYY-MM (or YYYY-MM-DD)")
        return dt.date.fromisoformat(parsed)
    return value


Month = Annotated[
    dt.date,
    BeforeValidator(_month),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2026-11"]}),
]


class PlanQuery(Schema):
    """The filters of every plan read; each narrows the rows, none is required."""

    family: str = Field("", description="Product family, exactly")
    sku: str = ""
    location: str = Field("", description="Location code")
    month_from: Month | None = Field(None, description="First month, YYYY-MM")
    month_to: Month | None = Field(None, description="Last month, YYYY-MM")

    def filters(self) -> selectors.PlanFilters:
        return selectors.PlanFilters(
            family=self.family,
            sku=self.sku,
            location=self.location,
            month_from=self.month_from,
            month_to=self.month_to,
        )


class SeriesMonth(Schema):
    """What a plan's row is of: a SKU at a location in a month."""

    sku: str
    family: str
    location: str = Field(validation_alias="location_code", description="Location code")
    month: dt.date


class Page(LimitOffsetPagination):
    """?limit= (1 to 1000, default 100) rows from ?offset=; `count` is the total."""

    class Input(Schema):
        limit: int = Field(PAGE_SIZE, ge=1, le=PAGE_SIZE_MAX)
        offset: int = Field(0, ge=0)


def one(rows: QuerySet | type[Model], what: str, **lookup: object) -> Any:
    """The one row `lookup` finds, or a 404 that names what was asked for."""
    queryset = rows.objects.all() if isinstance(rows, type) else rows
    found = queryset.filter(**lookup).first()
    if found is None:
        raise Http404(f"No {what} {', '.join(str(v) for v in lookup.values())}.")
    return found


def api_user(request: HttpRequest):
    """The user the request's token stands for."""
    return request.auth.user


# --- cycles ------------------------------------------------------------------------------------


class CycleOut(Schema):
    id: int
    month: dt.date
    stage: str
    stage_label: str
    horizon_months: int


class StageOut(Schema):
    stage: str
    label: str
    owners: list[str]
    due: dt.date | None
    done: bool
    current: bool
    late: bool


class CycleDetail(CycleOut):
    stages: list[StageOut]


class AdvanceIn(Schema):
    target: str = Field(description="The stage to move to: " + ", ".join(Stage.values))
    comment: str = ""
    override: bool = Field(
        default=False,
        description="Go ahead despite failing data checks (admins, with a comment saying why)",
    )


def _cycle_out(cycle: Cycle) -> dict:
    return {
        "id": cycle.pk,
        "month": cycle.month,
        "stage": cycle.stage,
        "stage_label": cycle.get_stage_display(),
        "horizon_months": cycle.horizon_months,
    }


def _cycle_detail(cycle: Cycle) -> dict:
    history = list(selectors.cycle_history(cycle=cycle))
    return {**_cycle_out(cycle), "stages": selectors.cycle_stage_rows(cycle=cycle, history=history)}


@api.get("/cycles", response=answers({200: list[CycleOut]}), tags=["cycles"])
@paginate(Page)
def cycle_list(request: HttpRequest):
    """Every cycle, newest month first."""
    return [_cycle_out(c) for c in Cycle.objects.order_by("-month")]


@api.get("/cycles/{cycle_id}", response=answers({200: CycleDetail}), tags=["cycles"])
def cycle_detail(request: HttpRequest, cycle_id: int):
    """A cycle, its stage, and each stage's owners and due date."""
    return _cycle_detail(one(Cycle, "cycle", pk=cycle_id))


@api.post("/cycles/{cycle_id}/advance", response=answers({200: CycleDetail}, 400), tags=["cycles"])
def cycle_advance(request: HttpRequest, cycle_id: int, move: AdvanceIn):
    """Move the cycle to another stage, as the cycle page's buttons do (same gates, roles)."""
    cycle = one(Cycle, "cycle", pk=cycle_id)
    services.cycle_advance(
        cycle=cycle,
        target=move.target,
        user=api_user(request),
        comment=move.comment,
        override=move.override,
    )
    cycle.refresh_from_db()
    return _cycle_detail(cycle)


# --- master data and facts push, the import history --------------------------------------------


class PushIn(Schema):
    rows: list[dict[str, Any]] = Field(
        description="One object per row, keyed by the entity's columns (docs/import-formats.md)"
    )


class ImportOut(Schema):
    id: int
    entity: str
    status: str
    message: str
    file_name: str
    rows_read: int
    rows_inserted: int
    rows_updated: int
    rows_unchanged: int
    error_count: int
    warnings: list[str]
    created_at: dt.datetime
    finished_at: dt.datetime | None


class ErrorGroupOut(Schema):
    """One problem of an import: the errors of one field with the same reason, whatever the
    value (`unknown SKU` for any SKU)."""

    field: str
    problem: str
    kind: str = Field(
        description="`file` (the file as a whole), `data` (a wrong value) or `reference` "
        "(a code not in the master data); the groups come in this order"
    )
    hint: str = Field(description="For a reference: which master data to import first")
    count: int = Field(description="How many errors have this problem, in the whole file")
    at_least: bool = Field(
        description="The count is of the errors kept, not of the file: the file has as many or more"
    )
    rows: list[RowError] = Field(description="Its first errors (at most 5)")


class ImportDetail(ImportOut):
    errors: list[RowError] = Field(description="The first 1000 errors; rows as in the stored file")
    error_groups: list[ErrorGroupOut] = Field(
        description="Every error grouped by problem, wrong values first, unknown references last"
    )


class PushRefusedOut(Refused):
    import_id: int | None
    error_count: int
    error_groups: list[ErrorGroupOut] = Field(
        default_factory=list,
        description="The errors grouped by problem; rows are the pushed rows, as in `errors`",
    )


def _groups_out(groups: list[import_problems.ErrorGroup], *, row_shift: int = 0) -> list[dict]:
    """Groups as the API says them: `field` for the column, as in its errors; `row_shift`
    turns a file's rows into the pushed rows (the header is the file's row 1)."""
    return [
        {
            "field": g.column,
            "problem": g.problem,
            "kind": g.kind,
            "hint": g.hint,
            "count": g.count,
            "at_least": g.at_least,
            "rows": [
                {**e, "row": max(int(e["row"]) - row_shift, 0), "field": e["column"]}
                for e in g.first
            ],
        }
        for g in groups
    ]


def _import_out(job: ImportJob) -> dict:
    return {field: getattr(job, field) for field in ImportOut.model_fields}


@api.post(
    "/data/{entity}",
    response=answers({200: ImportOut}, 400) | {422: PushRefusedOut},
    tags=["master data and facts"],
)
def data_push(
    request: HttpRequest,
    entity: str,
    push: PushIn,
    profile: str = Query(
        "", description="An import profile's name: its column mapping, constants and factors apply"
    ),
):
    """Load rows of an ERP entity, checked and loaded all or nothing as an uploaded file is."""
    try:
        job = imports.import_rows(
            entity=entity, rows=push.rows, user=api_user(request), profile=profile
        )
    except imports.PushRefused as refused:
        if refused.job is not None:
            groups = _groups_out(import_problems.job_error_groups(refused.job), row_shift=1)
        else:
            found = [{**e, "column": e["field"]} for e in refused.errors]
            groups = _groups_out(import_problems.error_groups(found))
        return Status(
            422,
            {
                "detail": str(refused),
                "errors": refused.errors,
                "import_id": refused.job.pk if refused.job else None,
                "error_count": refused.job.error_count if refused.job else len(refused.errors),
                "error_groups": groups,
            },
        )
    return _import_out(job)


@api.get("/imports", response=answers({200: list[ImportOut]}), tags=["master data and facts"])
@paginate(Page)
def import_list(request: HttpRequest):
    """The import history, newest first: uploads, pushes and commands alike."""
    require(api_user(request), "sop.run_import", "read the import history")
    return selectors.import_jobs()


@api.get(
    "/imports/{import_id}", response=answers({200: ImportDetail}), tags=["master data and facts"]
)
def import_detail(request: HttpRequest, import_id: int):
    """One import: its outcome, counts and the first 1000 errors (rows of the stored file)."""
    require(api_user(request), "sop.run_import", "read the import history")
    job = one(ImportJob, "import", pk=import_id)
    errors = [{**e, "field": e["column"]} for e in job.errors]
    groups = _groups_out(import_problems.job_error_groups(job))
    return {**_import_out(job), "errors": errors, "error_groups": groups}


# --- runs --------------------------------------------------------------------------------------


class RunOut(Schema):
    kind: str
    id: int
    status: str
    phase: str
    progress: int
    error: str
    cycle_id: int | None
    is_published: bool | None = Field(description="Whether it is its scope's published result")
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


def _run_out(kind: str, run: Run) -> dict:
    # Every kind's row has the kernel's fields; the cycle and the published flag are not
    # every kind's (an import has neither).
    return {
        name: getattr(run, name, None) for name in RunOut.model_fields if name not in ("kind", "id")
    } | {"kind": kind, "id": run.pk}


@api.post(
    "/cycles/{cycle_id}/runs/{kind}", response=answers({202: RunOut}, 400, 409, 503), tags=["runs"]
)
def run_start(request: HttpRequest, cycle_id: int, kind: str):
    """Start a cycle's run (`forecast`, `supply`) as its page's button does; poll its status."""
    panel = run_views.panels().get(kind)
    if panel is None or panel.start is None:
        startable = [k for k, p in run_views.panels().items() if p.start is not None]
        raise Http404(
            f"No kind of run {kind!r} starts from a cycle: one of {', '.join(startable)}."
        )
    cycle = one(Cycle, "cycle", pk=cycle_id)
    run = panel.start(cycle=cycle, user=api_user(request))
    if run.status == JobStatus.FAILED:  # the task queue refused it
        return Status(503, {"detail": run.error})
    return Status(202, _run_out(kind, run))


@api.get("/runs/{kind}/{run_id}", response=answers({200: RunOut}), tags=["runs"])
def run_status(request: HttpRequest, kind: str, run_id: int):
    """A run's status and progress: `forecast`, `supply`, `scenario` or `import`."""
    panel = run_views.panels().get(kind)
    if panel is None:
        raise Http404(f"No kind of run {kind!r}: one of {', '.join(run_views.panels())}.")
    if panel.permission:
        require(api_user(request), panel.permission, f"watch {runs.kind_get(kind).label}s")
    return _run_out(kind, one(runs.kind_get(kind).run_model, runs.kind_get(kind).label, pk=run_id))
