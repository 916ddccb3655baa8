"""When a difference in a KPI is worth a colour: green better, red worse, by a material amount.

Each planning app defines its KPIs' thresholds next to the KPIs (`reconciliation.selectors.
KPI_MATERIALITY`, `executive.constants.HEADLINE_MATERIALITY`, `demand.constants.
FVA_MATERIALITY`); this module only applies them, so the comparison page, the executive pack
and the demand page colour by the same rule and say it in the same words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sop.formatting import format_number
from sop.numbers import finite_or_none


@dataclass(frozen=True)
class Materiality:
    """The smallest difference in a KPI that gets a colour.

    `amount` is in the KPI's own unit (a fraction's 0.005 is half a point, a count's 1 is
    one); `share` is a share of the reference plan's `of` KPI, for money and quantities,
    whose scale is the company's (0.005 of revenue: 81,500 EUR on 16.3 M EUR).
    """

    amount: float = 0.0
    share: float = 0.0
    of: str = ""

    def __post_init__(self) -> None:
        if (self.amount > 0) == (self.share > 0) or (self.share > 0) != bool(self.of):
            raise ValueError("a materiality is an amount, or a share of another KPI")

    def threshold(self, reference: Mapping[str, object]) -> float | None:
        """The threshold against `reference` (the KPIs of the plan compared with); None when
        the KPI it is a share of is unknown there."""
        if self.amount:
            return self.amount
        base = finite_or_none(reference.get(self.of))
        return None if base is None else self.share * abs(base)

    def describe(self, kind: str, labels: Mapping[str, str]) -> str:
        """The threshold in words: "0.5 pts", "1", "0.5 % of revenue"."""
        if self.amount:
            return format_number(self.amount, kind, signed=True).lstrip("+")
        return f"{format_number(100 * self.share, 'pct')} of {_in_sentence(labels[self.of])}"


def tone(
    diff: float | None,
    *,
    higher: bool | None,
    materiality: Materiality,
    reference: Mapping[str, object],
) -> str:
    """'good' or 'bad' for a material difference in a KPI with a better direction, else ''.

    `higher` says which way is better (None: neither, e.g. inventory: never coloured).
    A threshold that cannot be known (no reference revenue) colours nothing.
    """
    threshold = materiality.threshold(reference)
    if diff is None or higher is None or threshold is None or abs(diff) < threshold:
        return ""
    return "good" if (diff > 0) == higher else "bad"


def legend(
    kpis: Iterable[tuple[str, str, str, bool | None]],
    materiality: Mapping[str, Materiality],
    *,
    labels: Mapping[str, str] | None = None,
) -> str:
    """The sentence under a coloured table: what green and red mean, from the thresholds.

    `kpis` are (key, label, kind, higher) rows as the table shows them; KPIs sharing a
    threshold are named together.
    """
    kpis = list(kpis)
    names = {key: label for key, label, _, _ in kpis} | dict(labels or {})
    groups: dict[str, list[str]] = {}
    neither = []
    for key, label, kind, higher in kpis:
        if higher is None:
            neither.append(_in_sentence(label))
            continue
        groups.setdefault(materiality[key].describe(kind, names), []).append(_in_sentence(label))
    by = "; ".join(f"{threshold} for {', '.join(group)}" for threshold, group in groups.items())
    text = f"Green: better for the business, red: worse, by at least {by}."
    text += " No colour: a smaller difference"
    if neither:
        text += f", or {', '.join(neither)}, where neither higher nor lower is better"
    return text + "."


def _in_sentence(label: str) -> str:
    """A KPI's label inside a sentence: "Margin %" -> "margin %", "WAPE" stays."""
    return label if label[:2].isupper() else label[:1].lower() + label[1:]
