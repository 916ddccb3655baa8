"""The contract between the core and a planning step (demand, supply, reconciliation, ...).

The core owns the cycle and its stage machine (`sop.workflow`) but knows nothing of the
apps that do the planning: it never imports them. Each app instead registers one `Step`
in its `AppConfig.ready`, declaring everything the core needs from it, and the core calls
those declarations at fixed points:

- `gate`: checked by `cycle_advance` before the cycle may leave the step's stage;
- `checklist`: lines of the cycle home's checklist (`sop.selectors.cycle_checklist`);
- `on_open`: inside `cycle_open`'s transaction (e.g. carry last cycle's decisions over);
- `on_enter` / `on_leave`: inside `cycle_advance`'s transaction, after the transition row
  is written and before the cycle's stage is saved, so a hook that raises refuses the move;
- `after_enter`: after that transaction commits (e.g. start a background run that must see
  the new stage);
- `demo`: called by `manage.py seed_demo` once the demo extracts are loaded;
- `demo_past`: the step's work on one of the demo's past cycles while it is in the step's
  stage, ending with the stage's submission (`sop.demo_cycles` walks each past cycle
  through the stage machine with these, so it is approved as a real cycle is);
- `runs`: the app's kinds of background run (`StepRun`: the kernel's `RunKind` and the
  `RunPanel` its pages show it with); registering the step registers them with the run
  kernel (`sop.runs`) and the one start/status view (`sop.run_views`).

To add a step: write the app, put its declaration in `<app>/step.py` as
``STEP = Step(name="<app label>", stage=Stage.X, ...)`` with only the parts it needs (the
defaults do nothing), and make the app's config a `StepConfig`, whose ``ready()``
registers it::

    class MyAppConfig(steps.StepConfig):
        name = "myapp"

Hooks are thin: each hands over to a service of the app; the service holds the logic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.apps import AppConfig

from sop.choices import Stage

if TYPE_CHECKING:
    from sop.models import Cycle, CycleTransition
    from sop.run_views import RunPanel
    from sop.runs import RunKind


@dataclass(frozen=True)
class Check:
    """One line of a stage's checklist. `state`: done, todo, info or later (not reached).

    A `data_check` that is to do keeps the cycle in the line's stage as a gate does, but an
    admin may override it with a comment (`sop.services.cycle_advance`).
    """

    label: str
    state: str
    detail: str = ""
    data_check: bool = False


@dataclass(frozen=True)
class Checklist:
    """A step's checklist lines under one stage of the cycle home.

    `labels` are listed unchecked while the cycle has not reached `stage` (their inputs do
    not exist yet); from then on `build(cycle)` checks them against the data.
    """

    stage: str
    labels: tuple[str, ...]
    build: Callable[[Cycle], list[Check]]


@dataclass(frozen=True)
class StepRun:
    """A kind of background run a step owns, and how its pages show it."""

    kind: RunKind
    panel: RunPanel


def _no_gate(cycle: Cycle) -> str | None:
    return None


def _nothing_to_record(cycle: Cycle) -> dict[str, Any]:
    return {}


def _nothing(transition: CycleTransition) -> None:
    return None


def _no_answers(cycle: Cycle, since: dt.datetime, until: dt.datetime | None) -> list[str]:
    return []


def _calendar_ignored() -> None:
    return None


@dataclass(frozen=True)
class Step:
    """What a planning app declares to the core; see the module docstring.

    `stage` is the stage the step works in: its gate guards leaving it, its `on_enter` and
    `on_leave` run on moves into and out of it (a send-back included: read the
    transition's `to_stage` when the target matters). `on_open` returns figures for the
    audit event of opening the cycle. `answers(cycle, since, until)` says, one line per
    kind, what the step's people changed to the plan in that time: a send-back to the
    step's stage is answered by any of it or by a comment (`sop.checks`).
    """

    name: str
    stage: str
    gate: Callable[[Cycle], str | None] = _no_gate
    checklist: tuple[Checklist, ...] = ()
    on_open: Callable[[Cycle], dict[str, Any]] = _nothing_to_record
    on_enter: Callable[[CycleTransition], None] = _nothing
    after_enter: Callable[[CycleTransition], None] = _nothing
    on_leave: Callable[[CycleTransition], None] = _nothing
    answers: Callable[[Cycle, dt.datetime, dt.datetime | None], list[str]] = _no_answers
    demo: Callable[..., object] | None = None  # called with cycle= and user=
    demo_past: Callable[..., object] | None = None  # called with cycle= and users= (by role)
    runs: tuple[StepRun, ...] = ()
    # The events calendar changed (a page's save, an import): after commit.
    on_calendar: Callable[[], None] = _calendar_ignored


_STEPS: dict[str, Step] = {}
_STAGE_INDEX = {stage: index for index, stage in enumerate(Stage.values)}


def register_step(step: Step) -> None:
    """Register `step` and its runs; a step of the same name is replaced (tests swap a step
    this way)."""
    # Imported here: the kernel and its views import models, which the app registry must
    # have loaded first (this runs from `AppConfig.ready`).
    from sop import run_views, runs

    _STEPS[step.name] = step
    for run in step.runs:
        runs.register(run.kind)
        run_views.register_panel(run.kind.name, run.panel)


def steps() -> list[Step]:
    """The registered steps in the order of their stages."""
    return sorted(_STEPS.values(), key=lambda step: _STAGE_INDEX[step.stage])


def calendar_changed() -> None:
    """Tell every step, once the transaction commits, that the events calendar changed."""
    from django.db import transaction

    def tell() -> None:
        for registered in steps():
            registered.on_calendar()

    transaction.on_commit(tell)


def step(name: str) -> Step:
    return _STEPS[name]


def steps_in(stage: str) -> list[Step]:
    return [s for s in steps() if s.stage == stage]


class StepConfig(AppConfig):
    """The config of a planning app: when the app registry is ready, it registers the
    app's `STEP` from its `step` module (`<app>/step.py`).

    Subclass it as `steps.StepConfig` after `from sop import steps`: Django takes the one
    AppConfig subclass an `apps.py` holds as the app's config, and an imported class name
    would be a second one.
    """

    def ready(self) -> None:
        register_step(import_module(f"{self.name}.step").STEP)
