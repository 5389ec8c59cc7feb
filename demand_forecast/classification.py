"""Demand classes by the ADI / CV² rule (Syntetos, Boylan & Croston 2005, JORS 56(5)).

ADI is the average number of periods between demands (periods / periods with demand), CV² the
squared coefficient of variation of the non-zero demand sizes. The cut-offs 1.32 and 0.49 are
where, in that paper, Croston-type methods start to beat exponential smoothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np

DemandClass = Literal["smooth", "intermittent", "lumpy", "erratic"]
ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
INTERMITTENT_CLASSES: frozenset[str] = frozenset({"intermittent", "lumpy"})


def demand_statistics(y: Iterable[float]) -> tuple[float, float]:
    """(ADI, CV²) of a demand series; ADI is infinite without demand, CV² 0 with one demand."""
    values = np.asarray(list(y) if not isinstance(y, np.ndarray) else y, dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("classify_demand needs a non-empty one-dimensional series")
    if not np.isfinite(values).all():
        raise ValueError("classify_demand needs finite numbers")
    sizes = values[values > 0]
    if sizes.size == 0:
        return float("inf"), 0.0
    adi = values.size / sizes.size
    cv2 = float((sizes.std() / sizes.mean()) ** 2) if sizes.size > 1 else 0.0
    return float(adi), cv2


def classify_demand(y: Iterable[float]) -> DemandClass:
    """smooth, erratic, intermittent or lumpy (a series without any demand is intermittent)."""
    adi, cv2 = demand_statistics(y)
    if adi < ADI_CUTOFF:
        return "smooth" if cv2 < CV2_CUTOFF else "erratic"
    return "intermittent" if cv2 < CV2_CUTOFF else "lumpy"
