"""Device simulator: realistic factory telemetry over MQTT (plain JSON or Sparkplug B) to a node.

`yunfab sim` drives it from the command line; tests and the demo use `Simulator` directly.
"""

from yunfab_demo.simulator.faults import Drift, FaultError, Faults
from yunfab_demo.simulator.fleet import (
    FleetDevice,
    FleetError,
    load_fleet,
    save_fleet,
    synthetic_fleet,
)
from yunfab_demo.simulator.profiles import PROFILES, MetricSpec, Profile
from yunfab_demo.simulator.publisher import SimStats, Simulator, SimulatorError, TlsConfig

__all__ = [
    "PROFILES",
    "Drift",
    "FaultError",
    "Faults",
    "FleetDevice",
    "FleetError",
    "MetricSpec",
    "Profile",
    "SimStats",
    "Simulator",
    "SimulatorError",
    "TlsConfig",
    "load_fleet",
    "save_fleet",
    "synthetic_fleet",
]
