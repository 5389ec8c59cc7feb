"""Device simulator: realistic factory telemetry over MQTT (plain JSON or Sparkplug B) to a node.

`yunfab sim` drives it from the command line; tests and the demo use `Simulator` directly.
"""

from regional_node.simulator.faults import Drift, FaultError, Faults
from regional_node.simulator.fleet import (
    FleetDevice,
    FleetError,
    load_fleet,
    save_fleet,
    synthetic_fleet,
)
from regional_node.simulator.profiles import PROFILES, MetricSpec, Profile
from regional_node.simulator.publisher import SimStats, Simulator, SimulatorError, TlsConfig

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
