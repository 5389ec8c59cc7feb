"""Simulated machines for the edge gateway to read (tests, benchmarks, the demo): an injection
moulding machine behind an OPC UA server with a EUROMAP-77-like address space (the browse names
of the gateway's `euromap77` profile) and an energy meter behind a Modbus TCP server (the
registers of its `modbus_energy_meter` profile, plus holding registers, coils and discrete
inputs for the other register types).

Values change on their own every `period_s` (a moulding cycle's clamp force and temperatures, a
meter's power and energy), deterministically from a seed; `inject` puts a fixed value (NaN, an
out-of-range one) on a point, for the bad-input paths.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import random
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from asyncua import ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.server.server import Server
from cryptography.x509.oid import ExtendedKeyUsageOID
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from yunfab_gateway.config import RegisterType
from yunfab_gateway.modbus import encode_registers

E77 = "http://www.euromap.org/euromap77/"
E83 = "http://www.euromap.org/euromap83/"

# (path below the machine, namespace, variant type, metric it stands for)
_IMM_VARIABLES: tuple[tuple[str, str, ua.VariantType, str], ...] = (
    ("e77:MachineStatus/e77:MachineMode", E77, ua.VariantType.Int32, "machine_mode"),
    ("e77:Jobs/e77:ActiveJobValues/e77:JobCycleCounter", E77, ua.VariantType.UInt32, "shots"),
    (
        "e77:Jobs/e77:ActiveJobValues/e77:JobGoodPartsCounter",
        E77,
        ua.VariantType.UInt32,
        "good_parts",
    ),
    (
        "e77:Jobs/e77:ActiveJobValues/e77:ActualCycleTime",
        E77,
        ua.VariantType.Double,
        "cycle_time_s",
    ),
    ("e77:MachineStatus/e77:ActualClampForce", E77, ua.VariantType.Double, "clamp_force_kn"),
    (
        "e77:InjectionUnits/e77:InjectionUnit_1/e83:Temperatures/e83:MeltTemperature",
        E83,
        ua.VariantType.Double,
        "melt_temp_c",
    ),
    (
        "e77:InjectionUnits/e77:InjectionUnit_1/e83:ActualInjectionPressure",
        E83,
        ua.VariantType.Double,
        "injection_pressure_bar",
    ),
    (
        "e77:Moulds/e77:Mould_1/e83:Temperatures/e83:MouldTemperature",
        E83,
        ua.VariantType.Double,
        "mould_temp_c",
    ),
    ("e77:Moulds/e77:Mould_1/e83:Id", E83, ua.VariantType.String, "mould_id"),
)


_UNSET: Any = object()


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class MouldingSignal:
    """A ~`cycle_s` moulding cycle: clamp force up while clamped, the mould warming after each
    shot, a slowly wandering melt temperature; counters count shots and good parts."""

    rng: random.Random
    cycle_s: float = 2.0
    shots: int = 0
    good: int = 0
    t_s: float = 0.0

    def step(self, dt_s: float) -> dict[str, Any]:
        self.t_s += dt_s
        phase = (self.t_s % self.cycle_s) / self.cycle_s
        shots = int(self.t_s // self.cycle_s)
        if shots > self.shots:
            self.good += sum(1 for _ in range(shots - self.shots) if self.rng.random() > 0.02)
            self.shots = shots
        noise = self.rng.gauss(0, 1)
        return {
            "machine_mode": 1,
            "shots": self.shots,
            "good_parts": self.good,
            "cycle_time_s": round(self.cycle_s + 0.05 * noise, 3),
            "clamp_force_kn": round((800.0 if phase < 0.86 else 20.0) + 3 * noise, 2),
            "melt_temp_c": round(230 + 2 * math.sin(self.t_s / 30) + 0.3 * noise, 2),
            "injection_pressure_bar": round(
                (1400.0 if 0.1 < phase < 0.3 else 150.0) + 5 * noise, 1
            ),
            "mould_temp_c": round(60 + 4 * math.exp(-phase * 5) + 0.2 * noise, 2),
            "mould_id": "M-4711",
        }


@dataclass
class SimulatedMoulder:
    """An OPC UA server (asyncua) at `url` with one machine object, `IMM_01`, under Objects."""

    port: int = field(default_factory=free_port)
    pki: Path | None = None
    """Where the server's certificate is made; without one it offers security None only."""
    seed: int = 2
    period_s: float = 0.1
    cycle_s: float = 2.0
    allow_none: bool = True
    """Offer security None beside Basic256Sha256 (False: secure endpoints only)."""
    server: Server | None = None
    nodes: dict[str, Any] = field(default_factory=dict)
    injected: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    """Every value each variable took, with its source timestamp (ms): what a client that
    missed nothing would have seen."""
    _last: dict[str, Any] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}/yunfab/imm"

    @property
    def certificate(self) -> Path | None:
        return None if self.pki is None else self.pki / "server-cert.der"

    async def start(self) -> None:
        server = Server()
        await server.init()
        server.set_endpoint(self.url)
        server.set_server_name("Simulated IMM (EUROMAP 77)")
        policies = [ua.SecurityPolicyType.NoSecurity] if self.allow_none else []
        if self.pki is not None:
            self.pki.mkdir(parents=True, exist_ok=True)
            cert, key = self.pki / "server-cert.der", self.pki / "server-key.pem"
            uri = "urn:yunfab:demo:imm"
            await setup_self_signed_certificate(
                key, cert, uri, "127.0.0.1", [ExtendedKeyUsageOID.SERVER_AUTH], {}
            )
            await server.set_application_uri(uri)
            await server.load_certificate(str(cert))
            await server.load_private_key(str(key))
            policies += [
                ua.SecurityPolicyType.Basic256Sha256_Sign,
                ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
            ]
        server.set_security_policy(policies)
        indexes = {uri: await server.register_namespace(uri) for uri in (E77, E83)}
        prefixes = {"e77": indexes[E77], "e83": indexes[E83]}
        machine = await server.nodes.objects.add_object(
            ua.NodeId.from_string(f"ns={indexes[E77]};s=IMM_01"),
            ua.QualifiedName("IMM_01", indexes[E77]),
        )
        folders: dict[str, Any] = {"": machine}
        signal = MouldingSignal(random.Random(self.seed), cycle_s=self.cycle_s)
        first = signal.step(0)
        for path, _, variant, metric in _IMM_VARIABLES:
            steps = path.split("/")
            parent_key = ""
            for step in steps[:-1]:
                folder = f"{parent_key}/{step}" if parent_key else step
                if folder not in folders:
                    prefix, name = step.split(":")
                    folders[folder] = await folders[parent_key].add_object(
                        ua.NodeId.from_string(f"ns={indexes[E77]};s=IMM_01.{folder}"),
                        ua.QualifiedName(name, prefixes[prefix]),
                    )
                parent_key = folder
            prefix, name = steps[-1].split(":")
            node = await folders[parent_key].add_variable(
                ua.NodeId.from_string(f"ns={indexes[E77]};s=IMM_01.{path}"),
                ua.QualifiedName(name, prefixes[prefix]),
                ua.Variant(first[metric], variant),
            )
            self.nodes[metric] = (node, variant)
        await server.start()
        self.server = server
        await self._write(first)
        self._task = asyncio.create_task(self._drive(signal))

    def node_id(self, metric: str) -> str:
        node, _ = self.nodes[metric]
        text: str = node.nodeid.to_string()
        return text

    def inject(self, metric: str, value: Any) -> None:
        """Hold `metric` at `value` (NaN, out of range...) until `release`."""
        self.injected[metric] = value

    def release(self, metric: str) -> None:
        self.injected.pop(metric, None)

    async def _write(self, values: dict[str, Any]) -> None:
        """Write what changed, stamped with the time it changed (as a controller does)."""
        now = dt.datetime.now(dt.UTC)
        ts_ms = int(now.timestamp() * 1000)
        now = dt.datetime.fromtimestamp(ts_ms / 1000, dt.UTC)  # whole milliseconds
        for metric, (node, variant) in self.nodes.items():
            value = values[metric]
            previous = self._last.get(metric, _UNSET)
            if previous is not _UNSET and (
                previous == value or (_is_nan(previous) and _is_nan(value))
            ):
                continue
            self._last[metric] = value
            self.history.setdefault(metric, []).append((ts_ms, value))
            await node.write_value(
                ua.DataValue(
                    ua.Variant(value, variant),
                    SourceTimestamp=cast(ua.DateTime, now),
                    ServerTimestamp=cast(ua.DateTime, now),
                )
            )

    async def _drive(self, signal: MouldingSignal) -> None:
        while True:
            await asyncio.sleep(self.period_s)
            values = signal.step(self.period_s)
            values.update(self.injected)
            await self._write(values)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self.server is not None:
            await self.server.stop()
            self.server = None


# --- Modbus energy meter --------------------------------------------------------------------

METER_INPUTS: dict[str, tuple[int, RegisterType]] = {
    "voltage_v": (0, RegisterType.FLOAT32),
    "current_a": (6, RegisterType.FLOAT32),
    "power_w": (12, RegisterType.FLOAT32),
    "power_factor": (30, RegisterType.FLOAT32),
    "frequency_hz": (70, RegisterType.FLOAT32),
    "energy_kwh": (342, RegisterType.FLOAT32),
}
"""The `modbus_energy_meter` profile's input registers."""
METER_HOLDING: dict[str, tuple[int, RegisterType]] = {
    "setpoint_c": (100, RegisterType.INT16),
    "runtime_h": (102, RegisterType.UINT32),
    "flow_lpm": (110, RegisterType.FLOAT64),
}
"""Holding registers of other types (int16 tenths of a degree, uint32, float64)."""
METER_REGISTERS = 400
"""Registers (and bits) that exist; reading past them is an illegal data address."""


@dataclass
class SimulatedMeter:
    """A Modbus TCP server (pymodbus) on `port`, unit 1. Values are computed as they are read
    (the server's action hook), from a seeded random walk and whatever was injected."""

    port: int = field(default_factory=free_port)
    seed: int = 3
    rtu: bool = False
    """RTU frames over TCP (a serial line behind a converter) instead of Modbus TCP."""
    serial_port: str | None = None
    """Modbus RTU on this serial device (e.g. one end of a pty pair) instead of TCP."""
    baudrate: int = 19200
    injected: dict[str, Any] = field(default_factory=dict)
    coils: list[bool] = field(default_factory=lambda: [True, False, True, True])
    discrete: list[bool] = field(default_factory=lambda: [False, True, False, True])
    inputs: dict[str, tuple[int, RegisterType]] = field(default_factory=lambda: dict(METER_INPUTS))
    holding: dict[str, tuple[int, RegisterType]] = field(
        default_factory=lambda: dict(METER_HOLDING)
    )
    server: ModbusTcpServer | ModbusSerialServer | None = None
    energy: float = 1234.5
    reads: int = 0
    _rng: random.Random = field(default_factory=random.Random)

    async def start(self) -> None:
        self._rng = random.Random(self.seed)
        registers = [SimData(0, count=METER_REGISTERS, values=0, datatype=DataType.REGISTERS)]
        bits = [SimData(0, values=[False] * 16, datatype=DataType.BITS)]
        device = SimDevice(
            1,
            simdata=(bits, bits, registers, registers),
            use_bit_addressing=True,
            action=self._action,
        )
        if self.serial_port is not None:
            self.server = ModbusSerialServer(
                device, port=self.serial_port, framer=FramerType.RTU, baudrate=self.baudrate
            )
        else:
            framer = FramerType.RTU if self.rtu else FramerType.SOCKET
            self.server = ModbusTcpServer(device, address=("127.0.0.1", self.port), framer=framer)
        await self.server.serve_forever(background=True)

    def inject(self, metric: str, value: Any) -> None:
        self.injected[metric] = value

    def values(self) -> dict[str, Any]:
        rng = self._rng
        self.energy += 0.001
        values: dict[str, Any] = {
            "voltage_v": 230 + rng.gauss(0, 0.5),
            "current_a": 12 + rng.gauss(0, 0.3),
            "power_w": 2700 + rng.gauss(0, 40),
            "power_factor": 0.95,
            "frequency_hz": 50 + rng.gauss(0, 0.01),
            "energy_kwh": self.energy,
            "setpoint_c": -125,  # -12.5 degC in tenths
            "runtime_h": 70_000,
            "flow_lpm": 12.25,
        }
        values.update(self.injected)
        return values

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> None:
        self.reads += 1
        if function_code in (1, 2):
            # Bit blocks: 16 coils (or inputs) to a register, coil `a` in bit `a % 16`.
            flags = self.coils if function_code == 1 else self.discrete
            packed = sum(1 << i for i, bit in enumerate(flags[:16]) if bit)
            registers[:] = [packed] * len(registers)
            return
        layout = self.holding if function_code == 3 else self.inputs
        values = self.values()
        for metric, (at, kind) in layout.items():
            for i, word in enumerate(encode_registers(values[metric], kind)):
                registers[at + i - start_address] = word

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.shutdown()  # type: ignore[no-untyped-call]
            self.server = None


# --- as a process (the demo) --------------------------------------------------------------------


async def _serve(moulder_ports: list[int], meter_ports: list[int]) -> None:
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    peers: list[SimulatedMoulder | SimulatedMeter] = [
        SimulatedMoulder(port=port, seed=n, cycle_s=28.0 + n)
        for n, port in enumerate(moulder_ports)
    ]
    peers += [SimulatedMeter(port=port, seed=n) for n, port in enumerate(meter_ports)]
    for peer in peers:
        await peer.start()
    try:
        while not stop.is_set():
            await asyncio.sleep(5)
            for peer in peers:
                if isinstance(peer, SimulatedMoulder):
                    for values in peer.history.values():
                        del values[:-10]  # a long demo must not keep every value
    finally:
        for peer in peers:
            await peer.stop()


def main(argv: list[str] | None = None) -> None:
    """`python -m yunfab_demo.machines --moulder-port P ... --meter-port P ...`: simulated
    machines on loopback until SIGTERM, for a gateway to read (the demo)."""
    import argparse
    import logging

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--moulder-port", type=int, action="append", default=[])
    parser.add_argument("--meter-port", type=int, action="append", default=[])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve(args.moulder_port, args.meter_port))


if __name__ == "__main__":
    main()
