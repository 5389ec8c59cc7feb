"""Injectable device faults: what a node's validation, alerting and store-and-forward must survive.

Faults draw from their own seeded stream, separate from the signal's, so turning a fault on never
changes the values of the readings that get through: a test can compare a faulty run with a clean
one reading by reading.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from yunfab_demo.simulator.profiles import Profile, Value


class FaultError(ValueError):
    """A fault setting that cannot be simulated (negative probability, unknown metric...)."""


@dataclass(frozen=True, slots=True)
class Drift:
    """A sensor going out of calibration: `metric` gains `per_hour` for every hour of running."""

    metric: str
    per_hour: float

    @classmethod
    def parse(cls, text: str) -> Drift:
        """`METRIC:PER_HOUR`, as typed on the command line (e.g. `melt_temp_c:12.5`)."""
        metric, sep, rate = text.rpartition(":")
        try:
            per_hour = float(rate)
        except ValueError:
            per_hour = math.nan
        if not sep or not metric or not math.isfinite(per_hour):
            raise FaultError(f"drift must be METRIC:PER_HOUR, got {text!r}")
        return cls(metric, per_hour)


@dataclass(frozen=True, slots=True)
class Faults:
    """The same fault settings apply to every simulated device; each draws its own randomness."""

    drift: tuple[Drift, ...] = ()
    spike_prob: float = 0.0
    """Chance per reading that one gauge jumps (often out of its declared range)."""
    dropout_prob: float = 0.0
    """Chance per reading that it is lost on the device and never sent."""
    offline_every_s: float | None = None
    """Online this many seconds, then offline for `offline_for_s`, repeating."""
    offline_for_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("spike_prob", "dropout_prob"):
            prob = getattr(self, name)
            if not 0.0 <= prob <= 1.0:
                raise FaultError(f"{name} must be within 0..1, got {prob}")
        if (self.offline_every_s is None) != (self.offline_for_s is None):
            raise FaultError("offline needs both offline_every_s and offline_for_s")
        if self.offline_every_s is not None and self.offline_for_s is not None:
            if self.offline_every_s <= 0 or self.offline_for_s <= 0:
                raise FaultError("offline_every_s and offline_for_s must be positive")

    def offline_at(self, t_s: float) -> bool:
        """Whether a device is cut off at `t_s` seconds after the simulation started."""
        if self.offline_every_s is None or self.offline_for_s is None:
            return False
        return t_s % (self.offline_every_s + self.offline_for_s) >= self.offline_every_s

    def check_metrics(self, profiles: list[Profile]) -> None:
        """A drift on a metric no simulated device has is a typo, not a silent no-op."""
        known = {spec.name for profile in profiles for spec in profile.gauges}
        for drift in self.drift:
            if drift.metric not in known:
                raise FaultError(
                    f"drift metric {drift.metric!r} is no gauge of the simulated profiles "
                    f"({', '.join(sorted(known))})"
                )


class FaultInjector:
    """Applies `Faults` to one device's readings and counts what it did."""

    def __init__(self, faults: Faults, profile: Profile, rng: random.Random) -> None:
        self._faults = faults
        self._rng = rng
        names = {spec.name for spec in profile.gauges}
        self._drift = tuple(d for d in faults.drift if d.metric in names)
        self._gauges = profile.gauges
        self.spikes = 0
        self.dropped = 0

    def apply(self, t_s: float, metrics: dict[str, Value]) -> dict[str, Value] | None:
        """The reading as the device reports it, or None when a dropout loses it."""
        faults = self._faults
        for drift in self._drift:
            metrics[drift.metric] = round(
                float(metrics[drift.metric]) + drift.per_hour * t_s / 3600.0, 3
            )
        if faults.spike_prob and self._rng.random() < faults.spike_prob:
            spec = self._rng.choice(self._gauges)
            sign = 1.0 if self._rng.random() < 0.7 else -1.0
            jump = sign * (spec.max - spec.min) * self._rng.uniform(0.4, 1.2)
            metrics[spec.name] = round(float(metrics[spec.name]) + jump, 3)
            self.spikes += 1
        if faults.dropout_prob and self._rng.random() < faults.dropout_prob:
            self.dropped += 1
            return None
        return metrics
