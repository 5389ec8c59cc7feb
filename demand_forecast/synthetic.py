"""Seeded weekly C2M sales for tests, the demo and benchmarks: a few configurable products,
one SKU per product x colour x size, with a yearly season, the Spring Festival dip, 618 and
Double 11 peaks, promotions, slow-moving (intermittent) SKUs and returns.

Demo and test tooling: the forecaster never imports it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from demand_forecast.calendar import holiday_flags


@dataclass(frozen=True)
class Product:
    name: str
    category: str
    colours: Sequence[str]
    sizes: Sequence[str]
    weekly_units: float
    """Mean weekly units over all its SKUs on an ordinary week."""
    yearly_growth: float = 0.1


DEFAULT_PRODUCTS: tuple[Product, ...] = (
    Product("hoodie", "apparel", ("black", "grey", "navy"), ("S", "M", "L", "XL"), 240.0),
    Product("tee", "apparel", ("white", "black"), ("S", "M", "L"), 300.0, yearly_growth=0.2),
    Product("sneaker", "footwear", ("white", "black", "red"), ("39", "41", "43"), 90.0),
    Product("phone-case", "accessories", ("clear", "pink"), ("std",), 150.0, yearly_growth=-0.05),
)

# Effects on the mean (multipliers) in the weeks the calendar flags.
SPRING_FESTIVAL_EFFECT = 0.35
SALE_618_EFFECT = 1.8
DOUBLE_11_EFFECT = 2.6
PROMOTION_EFFECT = 1.5


@dataclass(frozen=True)
class SyntheticSales:
    history: pd.DataFrame
    """unique_id, ds, y (net of returns: can be negative), product, category, colour, size."""
    promotions: pd.DataFrame
    """unique_id, ds, promotion (0/1) for the history and ``future_weeks`` more weeks."""
    future: pd.DataFrame
    """unique_id, ds, y: the ``future_weeks`` weeks after the history, drawn the same way."""


def _shares(count: int, rng: np.random.Generator, peaked: bool) -> np.ndarray:
    if peaked:  # sizes: the middle sells most
        centre = (count - 1) / 2
        weights = np.exp(-0.5 * ((np.arange(count) - centre) / max(count / 3, 0.6)) ** 2)
    else:  # colours: one favourite
        weights = rng.dirichlet(np.full(count, 2.0))
    return np.asarray(weights / weights.sum(), float)


def weekly_sales(
    *,
    products: Sequence[Product] = DEFAULT_PRODUCTS,
    start: str = "2023-01-02",
    weeks: int = 104,
    future_weeks: int = 13,
    seed: int = 0,
    slow_share: float = 0.25,
    return_rate: float = 0.04,
    promotions_per_year: int = 6,
) -> SyntheticSales:
    """Weekly (W-MON) sales; ``slow_share`` of the SKUs sell a unit every few weeks."""
    if weeks < 1 or future_weeks < 0:
        raise ValueError("weeks must be positive and future_weeks not negative")
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=weeks + future_weeks, freq="W-MON")
    flags = holiday_flags(dates, "W-MON")
    years = np.arange(len(dates)) / 52.0
    week_of_year = dates.isocalendar().week.to_numpy(float)
    season = 1.0 + 0.25 * np.sin(2 * math.pi * (week_of_year - 10) / 52.0)
    calendar = (
        np.where(flags["spring_festival"] == 1, SPRING_FESTIVAL_EFFECT, 1.0)
        * np.where(flags["sale_618"] == 1, SALE_618_EFFECT, 1.0)
        * np.where(flags["double_11"] == 1, DOUBLE_11_EFFECT, 1.0)
    )
    rows: list[pd.DataFrame] = []
    promos: list[pd.DataFrame] = []
    for product in products:
        promo = np.zeros(len(dates))
        count = max(1, round(promotions_per_year * len(dates) / 52))
        promo[rng.choice(len(dates), size=min(count, len(dates)), replace=False)] = 1.0
        colours = _shares(len(product.colours), rng, peaked=False)
        sizes = _shares(len(product.sizes), rng, peaked=True)
        trend = (1.0 + product.yearly_growth) ** years
        for c, colour in enumerate(product.colours):
            for s, size in enumerate(product.sizes):
                uid = f"{product.name}-{colour}-{size}"
                slow = rng.random() < slow_share
                base = product.weekly_units * colours[c] * sizes[s]
                if slow:
                    base = rng.uniform(0.2, 0.8)
                mean = (
                    base * trend * season * calendar * np.where(promo == 1, PROMOTION_EFFECT, 1.0)
                )
                # Negative binomial (gamma-Poisson): sales vary more than Poisson's.
                shape = 4.0
                sold = rng.poisson(rng.gamma(shape, mean / shape))
                returned = rng.binomial(np.concatenate(([0], sold[:-1])), return_rate)
                rows.append(
                    pd.DataFrame(
                        {
                            "unique_id": uid,
                            "ds": dates,
                            "y": (sold - returned).astype(float),
                            "product": product.name,
                            "category": product.category,
                            "colour": colour,
                            "size": size,
                        }
                    )
                )
                promos.append(pd.DataFrame({"unique_id": uid, "ds": dates, "promotion": promo}))
    every = pd.concat(rows, ignore_index=True)
    in_history = every["ds"] < dates[weeks] if future_weeks else np.ones(len(every), bool)
    return SyntheticSales(
        history=every[in_history].reset_index(drop=True),
        promotions=pd.concat(promos, ignore_index=True),
        future=every.loc[~in_history, ["unique_id", "ds", "y"]].reset_index(drop=True),
    )
