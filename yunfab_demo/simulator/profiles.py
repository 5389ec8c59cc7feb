"""Device profiles: which metrics a kind of machine reports, in which unit and range, and how.

The metric declarations here are the single source of truth: the simulator publishes exactly
these names, and whoever provisions the simulated devices on a node (the demo, an operator script)
declares the same names, units and ranges, so a normal reading is never dead-lettered. Only
injected faults (spikes, long drift) may leave a range, which is what they are for.

Signals are physics-ish rather than white noise: an injection moulding machine runs in ~28 s
cycles whose phase shows in the clamp force and mould temperature, a sewing line alternates runs
and stops, a CNC spindle follows its part program. Every model is driven only by the sample time
and a seeded `random.Random`, so the same seed and schedule give the same readings.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

Value = float | int
"""A metric value: counters are ints, gauges floats."""

COUNTER_MAX = 2**53
"""Counters stay exact in a JSON double and a Sparkplug Int64 alike."""


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric as a node must declare it: a reading outside [min, max] is dead-lettered."""

    name: str
    unit: str
    min: float
    max: float
    counter: bool = False
    """Monotonic counters are ints (Sparkplug Int64); everything else is a float gauge."""

    def contains(self, value: Value) -> bool:
        return self.min <= value <= self.max


class SignalModel(Protocol):
    """A device's signal generator: call `sample` with non-decreasing seconds since start."""

    def sample(self, t_s: float) -> dict[str, Value]: ...


@dataclass(frozen=True, slots=True)
class Profile:
    """A kind of machine: its declared metrics and a factory for a seeded signal model."""

    name: str
    description: str
    metrics: tuple[MetricSpec, ...]
    build: Callable[[random.Random], SignalModel]

    def metric(self, name: str) -> MetricSpec:
        for spec in self.metrics:
            if spec.name == name:
                return spec
        raise KeyError(f"profile {self.name} has no metric {name}")

    @property
    def gauges(self) -> tuple[MetricSpec, ...]:
        return tuple(spec for spec in self.metrics if not spec.counter)


def _clip(value: float, spec: MetricSpec) -> float:
    """Noise must not push a normal reading out of its declared range."""
    return min(max(value, spec.min), spec.max)


class _OrnsteinUhlenbeck:
    """A mean-reverting wander: process values drift and come back, unlike a random walk."""

    def __init__(self, rng: random.Random, tau_s: float, sigma: float) -> None:
        self._rng = rng
        self._tau_s = tau_s
        self._sigma = sigma
        self.value = 0.0

    def advance(self, dt_s: float) -> float:
        if dt_s > 0:
            decay = math.exp(-dt_s / self._tau_s)
            spread = self._sigma * math.sqrt(1.0 - decay * decay)
            self.value = self.value * decay + spread * self._rng.gauss(0.0, 1.0)
        return self.value


# --- injection moulding -------------------------------------------------------------------------

_IMM = (
    MetricSpec("clamp_force_kn", "kN", 0.0, 1200.0),
    MetricSpec("mould_temp_c", "°C", 20.0, 120.0),
    MetricSpec("melt_temp_c", "°C", 180.0, 300.0),
    MetricSpec("cycle_time_s", "s", 10.0, 60.0),
    MetricSpec("shots", "count", 0, COUNTER_MAX, counter=True),
    MetricSpec("ejections", "count", 0, COUNTER_MAX, counter=True),
)
_IMM_SPEC = {spec.name: spec for spec in _IMM}


class InjectionMoulding:
    """A ~28 s moulding cycle: clamp, inject, hold and cool under ~800 kN, then open and eject.

    The mould warms right after each shot and cools back towards its 60 °C setpoint; the melt
    temperature wanders slowly around 230 °C; `cycle_time_s` reports the last completed cycle.
    About one shot in fifty is a reject, so `ejections` falls behind `shots` now and then.
    """

    NOMINAL_CYCLE_S = 28.0
    CLAMPED_SHARE = 0.86
    REJECT_RATE = 0.02

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._cycle_start = -rng.uniform(0.0, self.NOMINAL_CYCLE_S)  # machines are not in step
        self._cycle_len = self._next_cycle_len()
        self._last_cycle = self.NOMINAL_CYCLE_S
        self._shots = rng.randrange(1_000, 200_000)
        self._ejections = self._shots - rng.randrange(0, self._shots // 50 + 1)
        self._melt = _OrnsteinUhlenbeck(rng, tau_s=600.0, sigma=2.0)
        self._nominal_force = rng.gauss(800.0, 10.0)
        self._last_t = 0.0

    def _next_cycle_len(self) -> float:
        return min(max(self._rng.gauss(self.NOMINAL_CYCLE_S, 0.6), 25.0), 32.0)

    def sample(self, t_s: float) -> dict[str, Value]:
        rng = self._rng
        while t_s >= self._cycle_start + self._cycle_len:
            self._cycle_start += self._cycle_len
            self._last_cycle = self._cycle_len
            self._cycle_len = self._next_cycle_len()
            self._shots += 1
            if rng.random() >= self.REJECT_RATE:
                self._ejections += 1
        phase = (t_s - self._cycle_start) / self._cycle_len
        if phase < self.CLAMPED_SHARE:
            force = self._nominal_force + rng.gauss(0.0, 6.0)
        else:  # mould open: only the residual of the toggle
            force = rng.uniform(5.0, 25.0)
        mould = 60.0 + 3.0 * math.exp(-phase * 5.0) - 0.6 + rng.gauss(0.0, 0.2)
        melt = 230.0 + self._melt.advance(t_s - self._last_t) + rng.gauss(0.0, 0.3)
        self._last_t = t_s
        return {
            "clamp_force_kn": round(_clip(force, _IMM_SPEC["clamp_force_kn"]), 1),
            "mould_temp_c": round(_clip(mould, _IMM_SPEC["mould_temp_c"]), 2),
            "melt_temp_c": round(_clip(melt, _IMM_SPEC["melt_temp_c"]), 2),
            "cycle_time_s": round(self._last_cycle, 2),
            "shots": self._shots,
            "ejections": self._ejections,
        }


# --- sewing line --------------------------------------------------------------------------------

_SEWING = (
    MetricSpec("speed_spm", "stitches/min", 0.0, 6000.0),
    MetricSpec("stitches", "count", 0, COUNTER_MAX, counter=True),
    MetricSpec("stops", "count", 0, COUNTER_MAX, counter=True),
)
_SEWING_SPEC = {spec.name: spec for spec in _SEWING}


class SewingLine:
    """Runs of a minute or two at ~3800 stitches/min, separated by short stops (thread, bobbin).

    The motor ramps rather than jumps, and `stitches` integrates the actual speed, so the
    counter's slope always matches `speed_spm`.
    """

    MEAN_RUN_S = 90.0
    MEAN_STOP_S = 8.0
    RAMP_TAU_S = 1.5

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._running = True
        self._state_until = rng.expovariate(1.0 / self.MEAN_RUN_S)
        self._target = self._next_target()
        self._speed = self._target
        self._stitches = float(rng.randrange(100_000, 50_000_000))
        self._stops = rng.randrange(0, 5_000)
        self._last_t = 0.0

    def _next_target(self) -> float:
        return min(max(self._rng.gauss(3800.0, 200.0), 2500.0), 5000.0)

    def sample(self, t_s: float) -> dict[str, Value]:
        rng = self._rng
        while t_s >= self._state_until:
            self._running = not self._running
            if self._running:
                self._target = self._next_target()
                self._state_until += max(rng.expovariate(1.0 / self.MEAN_RUN_S), 5.0)
            else:
                self._stops += 1
                self._state_until += max(rng.expovariate(1.0 / self.MEAN_STOP_S), 1.0)
        dt = max(t_s - self._last_t, 0.0)
        self._last_t = t_s
        goal = self._target if self._running else 0.0
        before = self._speed
        self._speed = goal + (before - goal) * math.exp(-dt / self.RAMP_TAU_S)
        self._stitches += (before + self._speed) / 2.0 * dt / 60.0
        shown = self._speed + (rng.gauss(0.0, 15.0) if self._speed > 50.0 else 0.0)
        return {
            "speed_spm": round(_clip(shown, _SEWING_SPEC["speed_spm"]), 1),
            "stitches": int(self._stitches),
            "stops": self._stops,
        }


# --- CNC ----------------------------------------------------------------------------------------

_CNC = (
    MetricSpec("spindle_load_pct", "%", 0.0, 100.0),
    MetricSpec("spindle_speed_rpm", "rpm", 0.0, 24000.0),
    MetricSpec("feed_rate_mm_min", "mm/min", 0.0, 15000.0),
)
_CNC_SPEC = {spec.name: spec for spec in _CNC}


@dataclass(frozen=True, slots=True)
class _Operation:
    name: str
    duration_s: float
    load_pct: float
    rpm: float
    feed_mm_min: float


_PART_PROGRAM = (
    _Operation("load part", 20.0, 0.0, 0.0, 0.0),
    _Operation("face", 30.0, 42.0, 9000.0, 1200.0),
    _Operation("rough", 60.0, 72.0, 8000.0, 1800.0),
    _Operation("tool change", 6.0, 0.0, 0.0, 0.0),
    _Operation("drill", 25.0, 55.0, 3500.0, 300.0),
    _Operation("tool change", 6.0, 0.0, 0.0, 0.0),
    _Operation("finish", 45.0, 28.0, 12000.0, 800.0),
)


class Cnc:
    """A machining centre repeating one part program: load follows the operation being cut.

    Loading a part takes the operator a variable time; cutting operations have a tool-path
    ripple on the load, and the tool wears over the parts it cuts until it is replaced.
    """

    PARTS_PER_TOOL = 40
    SPINDLE_RAMP_S = 1.0

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._step = rng.randrange(len(_PART_PROGRAM))
        self._step_len = self._duration(self._step)
        self._step_start = -rng.uniform(0.0, self._step_len)
        self._parts_on_tool = rng.randrange(self.PARTS_PER_TOOL)
        self._ripple_s = rng.uniform(5.0, 9.0)

    def _duration(self, step: int) -> float:
        op = _PART_PROGRAM[step]
        if op.name == "load part":
            return max(self._rng.gauss(op.duration_s, 3.0), 8.0)
        return op.duration_s

    def sample(self, t_s: float) -> dict[str, Value]:
        rng = self._rng
        while t_s >= self._step_start + self._step_len:
            self._step_start += self._step_len
            self._step = (self._step + 1) % len(_PART_PROGRAM)
            self._step_len = self._duration(self._step)
            if self._step == 0:
                self._parts_on_tool = (self._parts_on_tool + 1) % self.PARTS_PER_TOOL
        op = _PART_PROGRAM[self._step]
        into = t_s - self._step_start
        if op.rpm == 0.0:
            return {"spindle_load_pct": 0.0, "spindle_speed_rpm": 0.0, "feed_rate_mm_min": 0.0}
        ramp = min(into / self.SPINDLE_RAMP_S, 1.0)
        wear = 1.0 + 0.15 * self._parts_on_tool / self.PARTS_PER_TOOL
        ripple = 4.0 * math.sin(2.0 * math.pi * into / self._ripple_s)
        load = (op.load_pct * wear + ripple) * ramp + rng.gauss(0.0, 2.0)
        rpm = op.rpm * ramp * (1.0 + rng.gauss(0.0, 0.002))
        feed = op.feed_mm_min * ramp * (1.0 + rng.gauss(0.0, 0.005))
        return {
            "spindle_load_pct": round(_clip(load, _CNC_SPEC["spindle_load_pct"]), 1),
            "spindle_speed_rpm": round(_clip(rpm, _CNC_SPEC["spindle_speed_rpm"]), 0),
            "feed_rate_mm_min": round(_clip(feed, _CNC_SPEC["feed_rate_mm_min"]), 0),
        }


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile(
            "injection_moulding",
            "Plastic injection moulding machine, ~28 s cycles",
            _IMM,
            InjectionMoulding,
        ),
        Profile(
            "sewing_line", "Industrial sewing station with runs and stops", _SEWING, SewingLine
        ),
        Profile("cnc", "CNC machining centre repeating a part program", _CNC, Cnc),
    )
}
