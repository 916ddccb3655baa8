"""The demo company: a realistic food & beverage business, generated as ERP extracts.

ORM-free. `generate_company` returns one pandas frame per extract entity with exactly the
columns declared in `sop.extracts`, so `seed_demo` can write them as files and load them
through the same importer a real customer uses. Everything is drawn from one numpy
generator: the same seed gives the same company.

Demand per SKU x location x month is level x trend x seasonality x life cycle x noise,
plus promotions (a spike, then a dip while shoppers use up their stock). Capacity is sized
from the noise-free demand of the planning horizon so that it binds in seasonal peaks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sop.extracts import ENTITIES, LOAD_ORDER
from sop.models import Event

HORIZON_MONTHS = 18
# Budget months before the cycle month: finance compares the last year too.
BUDGET_HISTORY_MONTHS = 12
MIN_HISTORY_MONTHS = 12
# Approved cycles the demo has before the current one (`sop.demo_cycles`); each has a
# stock count on its first day, so its plan starts from the stock it had then.
PAST_CYCLES = 3


def _wave(peak: int, amplitude: float) -> tuple[float, ...]:
    """A smooth yearly profile peaking in calendar month `peak` (1-12)."""
    months = np.arange(1, 13)
    return tuple(1 + amplitude * np.cos(2 * np.pi * (months - peak) / 12))


@dataclass(frozen=True)
class _Family:
    name: str
    category: str
    prefix: str
    season: tuple[float, ...]  # relative demand by calendar month, January first
    make_share: float  # share of the family's SKUs made in-house
    work_centre: str  # where made items are produced
    price: float  # median unit price
    volume: float  # median monthly units of a SKU across all locations
    promotions: bool
    uom: str
    nouns: tuple[str, ...]
    variants: tuple[str, ...]
    sizes: tuple[str, ...]


# The first eight are always present: they mix summer, winter and flat seasonality, make
# and buy, so even the smallest company shows every planning situation.
# fmt: off
_CATALOGUE: tuple[_Family, ...] = (
    _Family(
        "Sparkling drinks", "Beverages", "SPK", _wave(7, 0.45), 1.0, "Bottling line",
        0.9, 6000, True, "EA", ("Sparkling", "Soda"),
        ("lemon", "orange", "cola", "lime", "grapefruit", "cherry", "ginger"),
        ("330ml can", "500ml PET", "1.5l PET", "6x330ml"),
    ),
    _Family(
        "Snacks", "Savoury", "SNK", _wave(6, 0.08), 1.0, "Frying line",
        1.6, 3000, True, "EA", ("Crisps", "Tortilla chips", "Pretzels"),
        ("salted", "paprika", "cheese & onion", "sour cream", "chili", "sea salt"),
        ("40g", "150g", "200g", "multipack 6x25g"),
    ),
    _Family(
        "Chocolate", "Confectionery", "CHO",
        (1.0, 1.05, 1.3, 1.45, 0.8, 0.6, 0.55, 0.6, 0.85, 1.1, 1.5, 2.2), 1.0, "Moulding line",
        2.4, 2000, True, "EA", ("Chocolate bar", "Pralines", "Chocolate eggs"),
        ("milk", "dark 70%", "hazelnut", "white", "caramel", "mint"),
        ("45g", "100g", "200g", "box 250g"),
    ),
    _Family(
        "Still water", "Beverages", "WAT", _wave(7, 0.35), 1.0, "Bottling line",
        0.5, 9000, False, "EA", ("Spring water", "Mineral water"),
        ("natural", "lightly sparkling", "lemon essence"),
        ("500ml", "1.5l", "6x1.5l", "5l"),
    ),
    _Family(
        "Ice cream", "Frozen", "ICE", _wave(7, 0.75), 1.0, "Freezing tunnel",
        3.2, 1500, True, "EA", ("Ice cream", "Sorbet", "Ice lolly"),
        ("vanilla", "strawberry", "chocolate", "pistachio", "mango", "lemon"),
        ("single", "500ml tub", "1l tub", "4-pack"),
    ),
    _Family(
        "Biscuits", "Bakery", "BIS", _wave(11, 0.12), 1.0, "Baking oven",
        1.4, 2500, True, "EA", ("Biscuits", "Cookies", "Crackers"),
        ("butter", "oat", "chocolate chip", "ginger", "wholegrain"),
        ("150g", "300g", "family pack 500g"),
    ),
    _Family(
        "Seasonal gifts", "Gifts",
        "GFT", (0.3, 0.2, 0.4, 0.6, 0.3, 0.2, 0.2, 0.3, 0.6, 1.3, 3.0, 4.6), 0.0, "",
        12.0, 400, False, "EA", ("Gift box", "Hamper", "Advent calendar"),
        ("classic", "deluxe", "family", "premium"),
        ("small", "medium", "large"),
    ),
    _Family(
        "Juices", "Beverages", "JUI", _wave(6, 0.2), 0.0, "",
        1.8, 2500, True, "EA", ("Juice", "Smoothie", "Nectar"),
        ("orange", "apple", "multivitamin", "pineapple", "berry"),
        ("250ml", "1l", "6x200ml"),
    ),
    _Family(
        "Breakfast cereals", "Breakfast", "CER", _wave(1, 0.05), 1.0, "Baking oven",
        2.8, 1800, True, "EA", ("Cornflakes", "Granola", "Muesli"),
        ("classic", "honey", "fruit & nut", "chocolate", "high fibre"),
        ("375g", "500g", "750g"),
    ),
    _Family(
        "Sauces", "Pantry", "SAU", _wave(6, 0.18), 0.5, "Filling line",
        2.1, 1600, True, "EA", ("Ketchup", "Mayonnaise", "Barbecue sauce", "Mustard"),
        ("classic", "light", "spicy", "organic"),
        ("250ml", "500ml", "1l squeeze"),
    ),
    _Family(
        "Energy drinks", "Beverages", "NRG", _wave(8, 0.1), 0.0, "",
        1.5, 3500, True, "EA", ("Energy drink",),
        ("original", "sugar free", "tropical", "berry"),
        ("250ml", "500ml", "4x250ml"),
    ),
    _Family(
        "Tea & coffee", "Hot drinks", "TEA", _wave(1, 0.28), 0.0, "",
        4.5, 1200, True, "EA", ("Black tea", "Green tea", "Ground coffee", "Coffee beans"),
        ("breakfast", "earl grey", "mint", "espresso", "decaf"),
        ("20 bags", "80 bags", "250g", "1kg"),
    ),
)
# fmt: on

_CITIES = (
    "Lyon", "Paris", "Lille", "Nantes", "Bordeaux", "Toulouse", "Marseille", "Strasbourg",
    "Rennes", "Nice", "Dijon", "Grenoble",
)  # fmt: skip

_SUPPLIERS = (
    "Alpine Co-Packing", "Baltic Beverages", "Coastline Foods", "Delta Packaging",
    "Evergreen Growers", "Fjord Trading", "Golden Harvest", "Highland Gifts",
    "Iberia Fruits", "Jura Roasters", "Kestrel Imports", "Lakeside Drinks",
)  # fmt: skip


# Goods receipts of the last months: most suppliers deliver on time and in full, one is often
# late (the last supplier bought from), one often short (the second); some lines come in two
# deliveries.
RECEIPT_MONTHS = 12
_LATE_SHARE, _LATE_SUPPLIER_SHARE = 0.06, 0.45
_SHORT_SHARE, _SHORT_SUPPLIER_SHARE = 0.04, 0.35
_SPLIT_SHARE = 0.15


def _purchase_receipts(
    *,
    seed: int,
    today: dt.date,
    sku_codes: np.ndarray,
    supplier: np.ndarray,
    sup_codes: np.ndarray,
    sup_lead: np.ndarray,
    loc_codes: np.ndarray,
    lot: np.ndarray,
) -> pd.DataFrame:
    """Purchase-order lines of the bought SKUs over the last RECEIPT_MONTHS, with receipts.

    Drawn from a generator of its own, so the rest of the company is what it was before
    receipts were added. Lines promised after today are open (no receipt yet).
    """
    columns = [c.name for c in ENTITIES["purchase_receipts"].columns]
    if not len(sku_codes):
        return pd.DataFrame(columns=columns)
    rng = np.random.default_rng([seed, 16])
    n_sku, n_loc = len(sku_codes), len(loc_codes)
    months = RECEIPT_MONTHS + 1  # and the cycle month, whose late lines are still open
    # About every other month an SKU x location gets a line, promised on a day of the month.
    grid = np.argwhere(rng.random((n_sku, n_loc, months)) < 0.5)
    s, loc, m = grid[:, 0], grid[:, 1], grid[:, 2]
    n = len(grid)
    first = pd.Timestamp(today.replace(day=1)) - pd.DateOffset(months=RECEIPT_MONTHS)
    month_start = pd.DatetimeIndex([first + pd.DateOffset(months=int(k)) for k in range(months)])[m]
    promised = month_start + pd.to_timedelta(rng.integers(0, 28, n), unit="D")
    sup = supplier[s]
    quoted = np.round(sup_lead[sup] * rng.uniform(0.9, 1.1, n)).astype(int)
    ordered = promised - pd.to_timedelta(quoted, unit="D")
    quantity = np.maximum(1, rng.integers(1, 6, n)) * lot[s].clip(1)

    used = np.unique(supplier)
    late_share = np.where(sup == used[-1], _LATE_SUPPLIER_SHARE, _LATE_SHARE)
    short_share = np.where(sup == used[min(1, len(used) - 1)], _SHORT_SUPPLIER_SHARE, _SHORT_SHARE)
    late = rng.random(n) < late_share
    delay = np.where(late, rng.integers(2, 16, n), -rng.integers(0, 3, n))
    delivered = np.where(
        rng.random(n) < short_share, np.floor(quantity * rng.uniform(0.6, 0.95, n)), quantity
    )
    # A split line: most of it on the day, the rest a few days later.
    split = rng.random(n) < _SPLIT_SHARE
    first_part = np.where(split, np.floor(delivered * rng.uniform(0.5, 0.9, n)), delivered)
    last = promised + pd.to_timedelta(delay, unit="D")
    early = np.where(split, last - pd.to_timedelta(rng.integers(3, 10, n), unit="D"), last)
    early = np.maximum(early, ordered.to_numpy())

    line = pd.DataFrame(
        {
            "order_ref": [f"PO-{i + 700001:06d}" for i in range(n)],
            "supplier_code": sup_codes[sup],
            "sku": sku_codes[s],
            "location_code": loc_codes[loc],
            "order_date": ordered.strftime("%Y-%m-%d"),
            "promised_date": promised.strftime("%Y-%m-%d"),
            "promised_quantity": quantity.astype(np.int64),
        }
    )
    firsts = line.assign(receipt_date=pd.DatetimeIndex(early), received_quantity=first_part)
    rests = line[split].assign(
        receipt_date=last[split], received_quantity=(delivered - first_part)[split]
    )
    rows = pd.concat([firsts, rests], ignore_index=True)
    rows = rows[rows["received_quantity"] > 0]
    # What has not arrived by today is open: one row per line without a receipt.
    arrived = rows["receipt_date"] < pd.Timestamp(today)
    received = rows[arrived]
    pending = line[~line["order_ref"].isin(received["order_ref"])]
    rows = pd.concat(
        [
            received.assign(
                receipt_date=received["receipt_date"].dt.strftime("%Y-%m-%d"),
                received_quantity=received["received_quantity"].astype(np.int64),
            ),
            pending.assign(receipt_date="", received_quantity=0),
        ],
        ignore_index=True,
    )
    return rows.sort_values(["order_ref", "receipt_date"])[columns]


def _month_starts(first: dt.date, n: int) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(first), periods=n, freq="MS")


def _nice_round(x: np.ndarray) -> np.ndarray:
    """Round up to 1, 2 or 5 times a power of ten, as pack and batch sizes are."""
    x = np.maximum(x, 1.0)
    power = 10.0 ** np.floor(np.log10(x))
    mantissa = x / power
    step = np.select([mantissa <= 1, mantissa <= 2, mantissa <= 5], [1, 2, 5], 10)
    return step * power


def _workday_factor(months: pd.DatetimeIndex) -> np.ndarray:
    """Weekdays in each month relative to the average month: capacity follows the calendar."""
    starts = months.values.astype("datetime64[D]")
    ends = (months + pd.offsets.MonthBegin(1)).values.astype("datetime64[D]")
    days = np.busday_count(starts, ends)
    return days / (261 / 12)


def _capacity_hours(
    load: np.ndarray, workdays: np.ndarray, *, now: int, tightness: np.ndarray
) -> np.ndarray:
    """Available hours per resource x month for a noise-free load in hours.

    Each resource has a rate per weekday, set once a year (years counted from the cycle
    month `now`) from that year's load: `tightness` (about 92-108%) of the peak month, but
    never under 140% of the average month, so a seasonal line binds at its peak and a flat
    one does not. A short last year is sized on the twelve months before its end.
    """
    per_day = load / workdays[None, :]
    n_months = load.shape[1]
    year = (np.arange(n_months) - now) // 12
    rate = np.zeros_like(load)
    for y in np.unique(year):
        start = int(np.clip(now + 12 * y, 0, n_months - 12))
        window = per_day[:, start : start + 12]
        base = np.maximum(window.max(axis=1) * tightness, window.mean(axis=1) * 1.4)
        rate[:, year == y] = base[:, None]
    return np.round(rate * workdays[None, :]).clip(1)


@dataclass(frozen=True)
class DemoTruth:
    """What only the generator knows: demand without promotions and each promotion's lift.

    Arrays are SKU x location x history month (`baseline`, `quantity`) or SKU x history
    month (`promo`, `lift`), SKUs and locations in the order of the extracts.
    """

    skus: np.ndarray
    locations: np.ndarray
    months: pd.DatetimeIndex
    families: np.ndarray
    baseline: np.ndarray  # expected demand, no promotion in it (no noise either)
    quantity: np.ndarray  # what was sold: the sales history
    promo: np.ndarray  # a promotion ran in the month
    lift: np.ndarray  # demand multiplier: > 1 in a promotion, < 1 in the dip after it


@dataclass(frozen=True)
class DemoCompany:
    """The extracts of the demo company, its events calendar and the truth behind them."""

    frames: dict[str, pd.DataFrame]
    events: pd.DataFrame
    truth: DemoTruth


def generate_company(
    *,
    skus: int = 200,
    locations: int = 3,
    months: int = 48,
    seed: int = 0,
    today: dt.date | None = None,
) -> dict[str, pd.DataFrame]:
    """Generate every extract of the demo company, keyed by entity name in load order.

    History covers the `months` months before the cycle month (the first of `today`'s
    month); capacity and budget reach 18 months beyond it.
    """
    return demo_company(
        skus=skus, locations=locations, months=months, seed=seed, today=today
    ).frames


def demo_company(
    *,
    skus: int = 200,
    locations: int = 3,
    months: int = 48,
    seed: int = 0,
    today: dt.date | None = None,
) -> DemoCompany:
    """The demo company (`generate_company`'s extracts) with its events and its truth."""
    if skus < 1 or locations < 1:
        raise ValueError("The demo company needs at least one SKU and one location.")
    if months < MIN_HISTORY_MONTHS:
        raise ValueError(f"The demo company needs at least {MIN_HISTORY_MONTHS} months.")
    rng = np.random.default_rng(seed)
    today = today or dt.date.today()
    cycle_month = today.replace(day=1)
    first_month = (pd.Timestamp(cycle_month) - pd.DateOffset(months=months)).date()
    calendar = _month_starts(first_month, months + HORIZON_MONTHS)
    n_months = len(calendar)
    now = months  # index of the cycle month in `calendar`

    families = _CATALOGUE[: min(skus, int(rng.integers(8, 13)))]
    n_fam = len(families)

    # --- locations: the first quarter are plants (they also ship), the rest DCs.
    n_plants = max(1, locations // 4)
    loc_codes = np.array(
        [_CITIES[i].upper() if i < len(_CITIES) else f"LOC{i + 1:02d}" for i in range(locations)]
    )
    loc_kind = np.where(np.arange(locations) < n_plants, "plant", "dc")
    loc_names = [
        f"{_CITIES[i] if i < len(_CITIES) else f'Location {i + 1}'} "
        f"{'plant' if kind == 'plant' else 'DC'}"
        for i, kind in enumerate(loc_kind)
    ]
    loc_weight = rng.uniform(0.5, 1.5, locations)

    # --- SKUs per family: every family has at least one, some families are much bigger.
    counts = 1 + rng.multinomial(skus - n_fam, rng.dirichlet(np.full(n_fam, 3.0)))
    fam_idx = np.repeat(np.arange(n_fam), counts)
    fam_growth = rng.uniform(-0.04, 0.10, n_fam)

    prefixes = pd.Series(np.array([f.prefix for f in families])[fam_idx])
    sku_codes = (
        prefixes + "-" + pd.Series(np.arange(1, skus + 1)).astype(str).str.zfill(5)
    ).to_numpy()
    names = pd.Series("", index=range(skus), dtype=object)
    make = np.zeros(skus, dtype=bool)
    for f, fam in enumerate(families):
        rows = np.flatnonzero(fam_idx == f)
        noun, variant, size = (
            pd.Series(rng.choice(part, rows.size), index=rows)
            for part in (fam.nouns, fam.variants, fam.sizes)
        )
        names[rows] = noun + " " + variant + " " + size
        make[rows] = rng.random(rows.size) < fam.make_share

    fam_price = np.array([fam.price for fam in families])[fam_idx]
    fam_volume = np.array([fam.volume for fam in families])[fam_idx]
    price = np.round(fam_price * rng.lognormal(0, 0.35, skus), 2).clip(0.05)
    margin = rng.uniform(0.2, 0.6, skus)
    cost = np.round(price * (1 - margin), 4)

    # --- demand patterns. A lognormal level gives the usual Pareto: about a fifth of the
    # SKUs bring four fifths of the revenue.
    kind = rng.choice(
        np.array(["regular", "intermittent", "new", "phase_out"]), skus, p=[0.72, 0.15, 0.07, 0.06]
    )
    intermittent = kind == "intermittent"
    level = fam_volume * rng.lognormal(0, 1.5, skus)
    growth = fam_growth[fam_idx] + rng.normal(0, 0.06, skus)
    sensitivity = rng.uniform(0.7, 1.3, skus)  # how strongly a SKU follows its family's season
    noise_sd = rng.uniform(0.08, 0.3, skus)

    share = loc_weight[None, :] * rng.lognormal(0, 0.3, (skus, locations))
    share /= share.sum(axis=1, keepdims=True)

    t = np.arange(n_months)
    season_table = np.array([fam.season for fam in families])  # family x calendar month
    season_table /= season_table.mean(axis=1, keepdims=True)
    season = season_table[fam_idx][:, calendar.month.to_numpy() - 1] ** sensitivity[:, None]
    trend = (1 + growth[:, None]) ** ((t[None, :] - (now - 1)) / 12)

    # Life cycle: new items start a few months back and ramp up; phasing-out items decline
    # to zero, some already gone, some going within the next half year.
    launch = np.where(kind == "new", rng.integers(now - 12, now - 2, skus), 0)
    end = np.where(kind == "phase_out", rng.integers(now - 6, now + 7, skus), n_months + 12)
    decline = rng.integers(6, 13, skus)
    ramp = np.clip((t[None, :] - launch[:, None] + 1) / 4, 0, 1)
    fade = np.clip((end[:, None] - t[None, :]) / decline[:, None], 0, 1)
    life = ramp * fade
    alive = t[None, :] >= launch[:, None]
    active = end >= now  # still sold last month

    expected = level[:, None] * trend * season * life  # SKU x month, noise-free
    mu = expected[:, None, :] * share[:, :, None]  # SKU x location x month

    # Promotions in history: a spike of 60-180% and a dip the month after.
    promo_rate = np.where(
        np.array([fam.promotions for fam in families])[fam_idx] & (kind == "regular"),
        rng.uniform(0.02, 0.07, skus),
        0.0,
    )
    promo = (rng.random((skus, n_months)) < promo_rate[:, None]) & (t[None, :] < now)
    after = np.zeros_like(promo)
    after[:, 1:] = promo[:, :-1] & ~promo[:, 1:]
    lift = np.where(promo, rng.uniform(1.6, 2.8, (skus, n_months)), 1.0)
    lift *= np.where(after, rng.uniform(0.65, 0.85, (skus, n_months)), 1.0)

    noise = rng.lognormal(0, 1, (skus, locations, n_months)) ** noise_sd[:, None, None]
    noise /= np.exp(noise_sd[:, None, None] ** 2 / 2)  # mean one
    regular_qty = rng.poisson(mu * noise * lift[:, None, :])

    # Intermittent items sell rarely, in lumps of a few to a few dozen units; bigger
    # locations see bigger lumps, not more frequent ones.
    hit_rate = np.clip(
        rng.uniform(0.12, 0.45, skus)[:, None] * life * np.minimum(season, 2) / 1.5, 0, 1
    )
    lump_mean = rng.uniform(2, 15, skus)[:, None] * share * locations
    hits = rng.random((skus, locations, n_months)) < hit_rate[:, None, :]
    lumps = 1 + rng.poisson(lump_mean[:, :, None] * rng.lognormal(-0.18, 0.6, hits.shape))
    quantity = np.where(intermittent[:, None, None], np.where(hits, lumps, 0), regular_qty)
    # What a good forecast would expect per SKU x location x month.
    expected_sl = np.where(
        intermittent[:, None, None], hit_rate[:, None, :] * (1 + lump_mean[:, :, None]), mu
    )

    discount = rng.uniform(0, 0.06, (skus, n_months)) + promo * rng.uniform(0.1, 0.2, (skus, 1))

    # --- sales history: every SKU x location from launch to the month before the cycle.
    s, loc, m = np.nonzero(np.broadcast_to(alive[:, None, :now], (skus, locations, now)))
    qty = quantity[s, loc, m]
    sales = pd.DataFrame(
        {
            "sku": sku_codes[s],
            "location_code": loc_codes[loc],
            "month": calendar[m],
            "quantity": qty,
            "revenue": np.round(qty * price[s] * (1 - discount[s, m]), 2),
        }
    )

    # --- lead times and order sizes.
    n_suppliers = int(np.clip(skus // 25, 3, len(_SUPPLIERS)))
    sup_codes = np.array([f"SUP{i + 1:03d}" for i in range(n_suppliers)])
    sup_lead = np.round(rng.uniform(14, 60, n_suppliers), 1)
    sup_std = np.round(sup_lead * rng.uniform(0.1, 0.35, n_suppliers), 1)
    # Each family buys from two suppliers; families without a line of their own use the
    # co-packer (the first supplier) as one of them.
    fam_suppliers = rng.integers(0, n_suppliers, (n_fam, 2))
    fam_suppliers[[not f.work_centre for f in families], 0] = 0
    supplier = np.where(make, -1, fam_suppliers[fam_idx, rng.integers(0, 2, skus)])
    lead_time = np.where(
        make, rng.integers(3, 16, skus), np.round(sup_lead[supplier.clip(0)]).astype(int)
    )
    monthly = expected[:, now - 1].clip(1)
    lot = _nice_round(monthly * rng.uniform(0.05, 0.25, skus))
    moq = lot * rng.integers(1, 3, skus)

    # --- resources: one work centre per distinct make family line, round-robin over the
    # plants, plus the co-packer's line for the buy items it supplies.
    centres = list(dict.fromkeys(f.work_centre for f in families if f.work_centre))
    res_codes = [f"WC{i + 1:02d}" for i in range(len(centres))]
    res_names = list(centres)
    res_kind = ["work_centre"] * len(centres)
    res_loc = [loc_codes[i % n_plants] for i in range(len(centres))]
    centre_of_fam = np.array(
        [centres.index(f.work_centre) if f.work_centre else -1 for f in families]
    )
    resource = np.where(make, centre_of_fam[fam_idx], -1)
    copacked = ~make & (supplier == 0)
    if copacked.any():
        resource[copacked] = len(res_codes)
        res_codes.append("COPACK")
        res_names.append(f"{_SUPPLIERS[0]} line")
        res_kind.append("supplier")
        res_loc.append(None)
    n_res = len(res_codes)
    # Hours per unit differ by line speed, then by SKU (pack size, changeovers).
    line_speed = rng.uniform(0.001, 0.008, n_res)
    routed = np.flatnonzero(resource >= 0)
    hours_per_unit = np.round(
        line_speed[resource[routed]] * rng.uniform(0.7, 1.4, routed.size), 5
    ).clip(0.00001)

    workdays = _workday_factor(calendar)
    load = np.zeros((n_res, n_months))
    np.add.at(load, resource[routed], expected_sl[routed].sum(axis=1) * hours_per_unit[:, None])
    hours = _capacity_hours(load, workdays, now=now, tightness=rng.uniform(0.92, 1.08, n_res))

    # --- stock on the first day of the cycle month: mostly half a month to three months of
    # cover, some close to nothing (stockout risk), some far too much (excess).
    next_demand = expected_sl[:, :, now]
    cover = rng.choice([0.05, 1.0, 5.0], (skus, locations), p=[0.1, 0.8, 0.1]) * rng.uniform(
        0.5, 3.0, (skus, locations)
    )
    on_hand = np.round(
        next_demand * cover + np.where(~active, rng.integers(0, 50, skus), 0)[:, None]
    )

    # --- open orders due in the next three months for a good share of SKU x locations.
    has_order = (rng.random((skus, locations)) < 0.45) & active[:, None]
    rs, rl = np.nonzero(has_order)
    due = rng.integers(0, 3, rs.size)
    order_qty = (
        np.ceil(expected_sl[rs, rl, now + due] * rng.uniform(0.5, 1.5, rs.size) / lot[rs]) * lot[rs]
    )
    due_month = calendar[now + due]
    order_ref = np.where(
        make[rs],
        pd.Series(np.arange(rs.size) + 100001).map("MO-{:06d}".format).to_numpy(),
        # One purchase order per supplier and due month, with a line per SKU x location.
        pd.Series(sup_codes[supplier[rs].clip(0)]).str.replace("SUP", "PO-", regex=False)
        + "-"
        + pd.Series(due_month.strftime("%y%m")),
    )
    receipts = pd.DataFrame(
        {
            "order_ref": order_ref,
            "sku": sku_codes[rs],
            "location_code": loc_codes[rl],
            "due_month": due_month,
            "quantity": order_qty.astype(np.int64),
            "kind": np.where(make[rs], "production", "purchase"),
        }
    )
    receipts = receipts[receipts["quantity"] > 0]

    # --- budget per family: last year's same month plus the family's growth target.
    fam_of_row = fam_idx[s]
    actual_qty = np.zeros((n_fam, now))
    actual_rev = np.zeros((n_fam, now))
    np.add.at(actual_qty, (fam_of_row, m), qty)
    np.add.at(actual_rev, (fam_of_row, m), sales["revenue"].to_numpy())
    targets = np.arange(max(MIN_HISTORY_MONTHS, now - BUDGET_HISTORY_MONTHS), n_months)
    years_back = np.maximum(1, np.ceil((targets - (now - 1)) / 12)).astype(int)
    source = targets - 12 * years_back
    volume_growth = fam_growth + rng.uniform(0.0, 0.05, n_fam)  # ambition over the trend
    price_rise = rng.uniform(0.01, 0.04, n_fam)
    vol_factor = (1 + volume_growth[:, None]) ** years_back[None, :]
    rev_factor = vol_factor * (1 + price_rise[:, None]) ** years_back[None, :]
    bf, bt = np.meshgrid(np.arange(n_fam), np.arange(targets.size), indexing="ij")
    budget = pd.DataFrame(
        {
            "family": np.array([f.name for f in families])[bf.ravel()],
            "month": calendar[targets[bt.ravel()]],
            "revenue": np.round(actual_rev[:, source] * rev_factor, -1).ravel(),
            "volume": np.round(actual_qty[:, source] * vol_factor).ravel().astype(np.int64),
        }
    )

    # --- stock counts on the first day of the past cycles' months, drawn last so that the
    # rest of the company is the same with or without them.
    past = np.arange(now - PAST_CYCLES, now)
    past_cover = rng.choice([0.05, 1.0, 5.0], (skus, locations, past.size), p=[0.1, 0.8, 0.1])
    past_cover *= rng.uniform(0.5, 3.0, past_cover.shape)
    past_on_hand = np.round(expected_sl[:, :, past] * past_cover)
    past_counts = pd.DataFrame(
        {
            "sku": np.repeat(sku_codes, locations * past.size),
            "location_code": np.tile(np.repeat(loc_codes, past.size), skus),
            "date": np.tile(calendar[past], skus * locations),
            "on_hand": past_on_hand.ravel().astype(np.int64),
        }
    )

    frames = {
        "suppliers": pd.DataFrame(
            {
                "supplier_code": sup_codes,
                "name": _SUPPLIERS[:n_suppliers],
                "lead_time_days_mean": sup_lead,
                "lead_time_days_std": sup_std,
            }
        ),
        "products": pd.DataFrame(
            {
                "sku": sku_codes,
                "name": names.to_numpy(),
                "family": np.array([f.name for f in families])[fam_idx],
                "category": np.array([f.category for f in families])[fam_idx],
                "uom": np.array([f.uom for f in families])[fam_idx],
                "unit_cost": cost,
                "unit_price": price,
                "lead_time_days": lead_time,
                "moq": moq.astype(np.int64),
                "lot_size": lot.astype(np.int64),
                "make_or_buy": np.where(make, "make", "buy"),
                "supplier_code": np.where(make, "", sup_codes[supplier.clip(0)]),
                "active": active,
                # Lifecycle: none in the files; the seed names them (sop.demo_lifecycle).
                **dict.fromkeys(
                    [
                        "like_sku",
                        "like_factor",
                        "launch_ramp_months",
                        "launch_month",
                        "end_of_life_month",
                    ],
                    "",
                ),
            }
        ),
        "locations": pd.DataFrame(
            {"location_code": loc_codes, "name": loc_names, "kind": loc_kind}
        ),
        "resources": pd.DataFrame(
            {
                "resource_code": res_codes,
                "name": res_names,
                "kind": res_kind,
                "location_code": res_loc,
            }
        ),
        "routings": pd.DataFrame(
            {
                "sku": sku_codes[routed],
                "resource_code": np.array(res_codes)[resource[routed]],
                "hours_per_unit": hours_per_unit,
            }
        ),
        "product_sources": _demo_product_sources(
            sku_codes=sku_codes,
            loc_codes=loc_codes,
            candidates=np.flatnonzero((resource >= 0) & active),
            preferred=copacked,
            demand=expected_sl[:, :, now],
            cost=cost,
            alternate=sup_codes[min(2, n_suppliers - 1)],
            alternate_days=int(sup_lead[min(2, n_suppliers - 1)].round()),
        ),
        "sales_history": sales,
        "inventory": pd.concat(
            [
                past_counts,
                pd.DataFrame(
                    {
                        "sku": np.repeat(sku_codes, locations),
                        "location_code": np.tile(loc_codes, skus),
                        "date": pd.Timestamp(cycle_month),
                        "on_hand": on_hand.ravel().astype(np.int64),
                    }
                ),
            ],
            ignore_index=True,
        ),
        "receipts": receipts,
        "purchase_receipts": _purchase_receipts(
            seed=seed,
            today=today,
            sku_codes=sku_codes[~make],
            supplier=supplier[~make],
            sup_codes=sup_codes,
            sup_lead=sup_lead,
            loc_codes=loc_codes,
            lot=lot[~make],
        ),
        "capacity": pd.DataFrame(
            {
                "resource_code": np.repeat(res_codes, n_months),
                "month": np.tile(calendar, n_res),
                "hours": hours.ravel().astype(np.int64),
            }
        ),
        "budget": budget,
    }
    truth = DemoTruth(
        skus=sku_codes,
        locations=loc_codes,
        months=calendar[:now],
        families=np.array([f.name for f in families])[fam_idx],
        baseline=expected_sl[:, :, :now],
        quantity=quantity[:, :, :now],
        promo=promo[:, :now],
        lift=lift[:, :now],
    )
    # Own generator: the events must not change the extracts drawn above.
    events = _demo_events(
        truth, np.random.default_rng([seed, 15]), level, kind == "regular", active, families
    )
    # Own generator too: the order lines must not change what was drawn before them.
    frames["customer_order_lines"] = _demo_customer_order_lines(
        truth, np.random.default_rng([seed, 16]), intermittent, today
    )
    return DemoCompany(
        frames={
            name: frames[name][[c.name for c in ENTITIES[name].columns]].reset_index(drop=True)
            for name in LOAD_ORDER
        },
        events=events,
        truth=truth,
    )


# Alternate sources: two products, at every location, may also be bought from a second
# supplier, dearer, with its own lead time and a monthly capacity of about this share of
# their demand.
_ALTERNATE_PRODUCTS = 2
_ALTERNATE_SHARE = 0.4
_ALTERNATE_MARKUP = 1.15


def _demo_product_sources(
    *,
    sku_codes: np.ndarray,
    loc_codes: np.ndarray,
    candidates: np.ndarray,
    preferred: np.ndarray,
    demand: np.ndarray,
    cost: np.ndarray,
    alternate: str,
    alternate_days: int,
) -> pd.DataFrame:
    """The two busiest capacity-constrained products (co-packed ones first) with an
    alternate supplier at each location, sharing its capacity. Draws nothing at random."""
    busiest = sorted(candidates, key=lambda i: (not preferred[i], -demand[i].sum(), i))
    chosen = np.array(busiest[:_ALTERNATE_PRODUCTS], dtype=np.int64)
    s, loc = np.meshgrid(chosen, np.arange(len(loc_codes)), indexing="ij")
    s, loc = s.ravel(), loc.ravel()
    capacity = float(np.ceil(_ALTERNATE_SHARE * demand[chosen].sum()))
    return pd.DataFrame(
        {
            "sku": sku_codes[s],
            "location_code": loc_codes[loc],
            "supplier_code": alternate,
            "resource_code": "",
            "priority": 1,
            "unit_cost": np.round(cost[s] * _ALTERNATE_MARKUP, 2),
            "lead_time_days": alternate_days,
            "monthly_capacity": capacity,
            "active": True,
        }
    )


# Customer order lines: the last year of shipments, as the order lines behind them.
ORDER_LINE_MONTHS = 12
# A month sold this far under what was expected looks like a stockout: its lines ran short
# and late. Other months are mostly on time and in full.
_STOCKOUT_RATIO = 0.75
_CUSTOMERS_PER_LOCATION = 15


def _demo_customer_order_lines(
    truth: DemoTruth, rng: np.random.Generator, intermittent: np.ndarray, today: dt.date
) -> pd.DataFrame:
    """One to three order lines per SKU, location and month with sales in the last year.

    What shipped adds up to the sales history. In a month that sold well under the expected
    demand (a stockout) customers asked for more than shipped, and later; a few of the last
    month's lines are still open, and a few lines are asked for after today (not yet due).
    """
    months = min(ORDER_LINE_MONTHS, len(truth.months))
    quantity = truth.quantity[:, :, -months:]
    expected = truth.baseline[:, :, -months:] * truth.lift[:, None, -months:]
    ratio = np.divide(quantity, expected, out=np.ones(quantity.shape), where=expected > 0)
    stockout = (ratio < _STOCKOUT_RATIO) & ~intermittent[:, None, None]
    s, loc, m = np.nonzero(quantity > 0)
    qty = quantity[s, loc, m].astype(np.int64)
    lines = 1 + (qty >= 20) + (qty >= 200)
    row = np.repeat(np.arange(qty.size), lines)
    nth = np.arange(row.size) - np.repeat(np.cumsum(lines) - lines, lines)
    per_line = qty[row] // lines[row]
    shipped = np.where(nth == lines[row] - 1, qty[row] - per_line * (lines[row] - 1), per_line)
    short_month = stockout[s, loc, m][row]
    n = row.size
    month_start = truth.months[-months:][m[row]]
    requested = month_start + pd.to_timedelta(rng.integers(0, 28, n), unit="D")

    late = rng.random(n) < np.where(short_month, 0.5, 0.04)
    short = (rng.random(n) < np.where(short_month, 0.6, 0.02)) & (shipped > 0)
    fill = np.where(short, rng.uniform(0.55, 0.9, n), 1.0)
    asked = np.where(short, np.ceil(shipped / fill), shipped).astype(np.int64)
    asked = np.maximum(asked, shipped + short)
    delay = np.where(late, rng.integers(2, 16, n), -rng.integers(0, 3, n))
    shipped_on = requested + pd.to_timedelta(delay, unit="D")
    # Backorders: a few late lines of the last month have not shipped yet.
    still_open = late & (m[row] == months - 1) & (rng.random(n) < 0.3)
    still_open |= shipped_on >= pd.Timestamp(today)

    # A customer orders from one location; an order is its lines asked for on one day.
    customer = 100 * (loc[row] + 1) + rng.integers(1, _CUSTOMERS_PER_LOCATION + 1, n)
    order = pd.Series(list(zip(customer, requested, strict=True))).factorize(sort=True)[0]
    frame = pd.DataFrame(
        {
            "order_ref": pd.Series(order + 1_000_001).map("SO-{:07d}".format).to_numpy(),
            "line": 10 * (pd.Series(order).groupby(order).cumcount().to_numpy() + 1),
            "customer": pd.Series(customer).map("C{:03d}".format).to_numpy(),
            "sku": truth.skus[s[row]],
            "location_code": truth.locations[loc[row]],
            "requested_date": requested,
            "requested_quantity": asked,
            "shipped_date": pd.Series(shipped_on).mask(still_open),
            "shipped_quantity": pd.Series(shipped, dtype="Int64").mask(still_open),
        }
    )
    # Orders on the books for the coming weeks: open, not yet due.
    ahead = rng.choice(np.flatnonzero((quantity[:, :, -1] > 0).ravel()), 40)
    a_s, a_loc = np.divmod(ahead, quantity.shape[1])
    future = pd.DataFrame(
        {
            "order_ref": pd.Series(np.arange(ahead.size) + 2_000_001)
            .map("SO-{:07d}".format)
            .to_numpy(),
            "line": 10,
            "customer": pd.Series(
                100 * (a_loc + 1) + rng.integers(1, _CUSTOMERS_PER_LOCATION + 1, ahead.size)
            )
            .map("C{:03d}".format)
            .to_numpy(),
            "sku": truth.skus[a_s],
            "location_code": truth.locations[a_loc],
            "requested_date": pd.Timestamp(today)
            + pd.to_timedelta(rng.integers(1, 21, ahead.size), unit="D"),
            "requested_quantity": np.maximum(1, quantity[a_s, a_loc, -1] // 2).astype(np.int64),
            "shipped_date": pd.NaT,
            "shipped_quantity": pd.Series([pd.NA] * ahead.size, dtype="Int64"),
        }
    )
    return pd.concat([frame, future], ignore_index=True)


EVENT_FIELDS = [
    "code",
    "name",
    "kind",
    "scope",
    "family",
    "sku",
    *Event.EFFECT_FIELDS,
    "status",
    "note",
]
# Marketing's guess of a promotion's lift is off by this much (lognormal sigma), rounded
# to 5 points as people do.
_GUESS_SIGMA = 0.3


def _demo_events(
    truth: DemoTruth,
    rng: np.random.Generator,
    level: np.ndarray,
    regular: np.ndarray,
    active: np.ndarray,
    families: tuple[_Family, ...],
) -> pd.DataFrame:
    """The events calendar: each past promotion as marketing recorded it (months right,
    lift a rounded guess), then two promotions and a price increase in the horizon."""
    rows = []
    for s in np.flatnonzero(truth.promo.any(axis=1)):
        run = truth.promo[s]
        starts = np.flatnonzero(run & ~np.r_[False, run[:-1]])
        ends = np.flatnonzero(run & ~np.r_[run[1:], False])
        for a, b in zip(starts, ends, strict=True):
            true_lift = 100 * (truth.lift[s, a : b + 1].mean() - 1)
            guess = 5 * round(true_lift * rng.lognormal(0, _GUESS_SIGMA) / 5)
            dip = b + 1 < len(truth.months)
            true_dip = 100 * (truth.lift[s, b + 1] - 1) if dip else 0.0
            rows.append(
                (
                    f"P-{truth.skus[s]}-{truth.months[a]:%Y%m}",
                    f"Promotion {truth.skus[s]}",
                    "promotion",
                    "product",
                    "",
                    truth.skus[s],
                    truth.months[a].date(),
                    truth.months[b].date(),
                    "percent",
                    float(guess),
                    int(dip),
                    float(5 * round(true_dip * rng.lognormal(0, _GUESS_SIGMA) / 5)) if dip else 0.0,
                    "confirmed",
                    "Demo: recorded promotion",
                )
            )
    cycle = truth.months[-1] + pd.DateOffset(months=1)
    promoted = {f.name for f in families if f.promotions}
    candidates = np.flatnonzero(regular & active & np.isin(truth.families, list(promoted)))
    top = candidates[np.argsort(-level[candidates], kind="stable")][:2]
    for i, (s, ahead, pct) in enumerate(zip(top, (2, 5), (70, 50), strict=False)):
        month = (cycle + pd.DateOffset(months=ahead)).date()
        rows.append(
            (
                f"PLAN-{i + 1}",
                f"Summer promotion {truth.skus[s]}" if i else f"Spring deal {truth.skus[s]}",
                "promotion",
                "product",
                "",
                truth.skus[s],
                month,
                month,
                "percent",
                float(pct),
                1,
                -20.0,
                "confirmed",
                "Demo: planned promotion",
            )
        )
    flat = [f.name for f in families if not f.promotions] or [families[0].name]
    rows.append(
        (
            "PRICE-1",
            f"Price increase {flat[0]}",
            "price_change",
            "family",
            flat[0],
            "",
            (cycle + pd.DateOffset(months=3)).date(),
            (cycle + pd.DateOffset(months=14)).date(),
            "percent",
            -5.0,
            0,
            0.0,
            "confirmed",
            "Demo: list prices up 6% (elasticity about -0.8)",
        )
    )
    return pd.DataFrame(rows, columns=EVENT_FIELDS)
