"""Modbus connector (pymodbus): TCP, RTU on a serial port, or RTU frames over TCP (a serial
converter), polled per register group at the group's interval.

A group's points are read in as few requests as their addresses allow (contiguous blocks of at
most `max_block` registers per table); the values are decoded by type (16/32-bit integers,
float32/float64, coils and discrete inputs as bools) with the byte and word order of the point
or the connector. When a block fails with a Modbus exception (an illegal address, say), its
points are read one by one from then on, so one bad point costs only itself: each carries its
own last error. No answer at all marks the machine down and the connector reconnects with
capped exponential back-off.
"""

from __future__ import annotations

import asyncio
import math
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerType

from yunfab_gateway.config import (
    ModbusConnector,
    ModbusGroup,
    ModbusPoint,
    ModbusTransport,
    Order,
    RegisterType,
    Table,
)
from yunfab_gateway.mapping import Point, Sink, now_ms

log = structlog.get_logger(__name__)

_EXCEPTIONS = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}
_FORMATS = {
    RegisterType.INT16: ">h",
    RegisterType.UINT16: ">H",
    RegisterType.INT32: ">i",
    RegisterType.UINT32: ">I",
    RegisterType.FLOAT32: ">f",
    RegisterType.FLOAT64: ">d",
}


class ConnectionLost(Exception):
    """No answer from the device or the link: the whole connector is down."""


class PointFailed(Exception):
    """The device answered with a Modbus exception for this request."""


def decode_registers(
    registers: Sequence[int], kind: RegisterType, byte_order: Order, word_order: Order
) -> int | float:
    """The value in `registers` (16-bit words as read, first register first). Big byte and word
    order is the Modbus convention; many meters and PLCs swap words (`word_order = little`),
    some bytes too."""
    words = list(registers[: kind.registers])
    if len(words) != kind.registers:
        raise ValueError(f"{kind} needs {kind.registers} registers, got {len(words)}")
    if word_order == "little":
        words.reverse()
    raw = b"".join(
        word.to_bytes(2, "little" if byte_order == "little" else "big") for word in words
    )
    value: int | float = struct.unpack(_FORMATS[kind], raw)[0]
    if kind is RegisterType.FLOAT32:
        return _shortest_float32(float(value))
    return value


def _shortest_float32(value: float) -> float:
    """The shortest decimal that is the same float32: a meter's 230.1 V reads back as 230.1, not
    230.10000610351562."""
    if not math.isfinite(value):
        return value
    packed = struct.pack(">f", value)
    # Six significant digits are below float32's precision: a shorter decimal that is the same
    # float32 comes out of %g at six digits already, trailing zeros dropped.
    for digits in (6, 7, 8, 9):
        candidate = float(f"{value:.{digits}g}")
        if struct.pack(">f", candidate) == packed:
            return candidate
    return value


def encode_registers(
    value: int | float, kind: RegisterType, byte_order: Order = "big", word_order: Order = "big"
) -> list[int]:
    """The registers holding `value` (the inverse of `decode_registers`; tests and benchmarks
    build their servers with it)."""
    raw = struct.pack(_FORMATS[kind], value)
    words = [
        int.from_bytes(raw[i : i + 2], "little" if byte_order == "little" else "big")
        for i in range(0, len(raw), 2)
    ]
    if word_order == "little":
        words.reverse()
    return words


@dataclass
class _Item:
    point: Point
    spec: ModbusPoint
    byte_order: Order
    word_order: Order
    kind: RegisterType = RegisterType.UINT16
    width: int = 1

    def __post_init__(self) -> None:
        self.kind = self.spec.value_type
        self.width = self.kind.registers


@dataclass
class _Block:
    table: Table
    start: int
    count: int
    items: list[_Item] = field(default_factory=list)


def plan_blocks(items: Sequence[_Item], max_block: int) -> list[_Block]:
    """Contiguous-enough reads: points of a table sorted by address, merged while the block
    stays within `max_block` registers (16x that for coils and discrete inputs)."""
    blocks: list[_Block] = []
    for item in sorted(items, key=lambda i: (i.spec.table.value, i.spec.address)):
        table, start, width = item.spec.table, item.spec.address, item.width
        limit = max_block * 16 if table in (Table.COIL, Table.DISCRETE) else max_block
        last = blocks[-1] if blocks else None
        if last is not None and last.table is table and start + width - last.start <= limit:
            last.count = max(last.count, start + width - last.start)
            last.items.append(item)
        else:
            blocks.append(_Block(table, start, width, [item]))
    return blocks


class ModbusSource:
    def __init__(self, config: ModbusConnector, points: Sequence[Point], sink: Sink) -> None:
        self.config = config
        self.sink = sink
        by_metric = {p.metric: p for p in points}
        self.groups: list[tuple[ModbusGroup, list[_Block]]] = []
        for group in config.groups:
            items = [
                _Item(
                    by_metric[spec.metric],
                    spec,
                    spec.byte_order or config.byte_order,
                    spec.word_order or config.word_order,
                )
                for spec in group.points
            ]
            self.groups.append((group, plan_blocks(items, config.max_block)))
        self.items = [item for _, blocks in self.groups for b in blocks for item in b.items]
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient | None = None
        self._lock = asyncio.Lock()
        self.reads = 0
        """Requests answered (the benchmark's raw read rate)."""
        self.lost_reason = ""

    # --- connection --------------------------------------------------------------------------

    def _new_client(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        c = self.config
        common: dict[str, Any] = {"timeout": c.timeout_s, "retries": 0, "reconnect_delay": 0}
        if c.transport is ModbusTransport.RTU:
            return AsyncModbusSerialClient(
                c.serial_port or "",
                framer=FramerType.RTU,
                baudrate=c.baudrate,
                bytesize=c.bytesize,
                parity=c.parity,
                stopbits=c.stopbits,
                **common,
            )
        framer = (
            FramerType.RTU if c.transport is ModbusTransport.RTU_OVER_TCP else (FramerType.SOCKET)
        )
        return AsyncModbusTcpClient(c.host or "", port=c.port, framer=framer, **common)

    @property
    def endpoint(self) -> str:
        c = self.config
        if c.transport is ModbusTransport.RTU:
            return f"{c.serial_port} (unit {c.unit_id})"
        return f"{c.host}:{c.port} (unit {c.unit_id})"

    async def _connect(self) -> None:
        client = self._new_client()
        if not await client.connect():
            client.close()
            raise ConnectionLost(f"cannot connect to {self.endpoint}")
        self._client = client

    def _close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # --- reading -----------------------------------------------------------------------------

    async def _request(self, table: Table, start: int, count: int) -> list[int] | list[bool]:
        client = self._client
        if client is None:
            raise ConnectionLost("not connected")
        unit = self.config.unit_id
        try:
            async with self._lock:
                if table is Table.HOLDING:
                    response = await client.read_holding_registers(
                        start, count=count, device_id=unit
                    )
                elif table is Table.INPUT:
                    response = await client.read_input_registers(start, count=count, device_id=unit)
                elif table is Table.COIL:
                    response = await client.read_coils(start, count=count, device_id=unit)
                else:
                    response = await client.read_discrete_inputs(start, count=count, device_id=unit)
        except (ModbusException, OSError, TimeoutError) as exc:
            raise ConnectionLost(f"no answer from {self.endpoint}: {exc}") from None
        if response.isError():
            code = getattr(response, "exception_code", None)
            name = _EXCEPTIONS.get(code or 0, f"exception {code}")
            raise PointFailed(f"{table} {start}+{count}: {name}")
        self.reads += 1
        if table in (Table.COIL, Table.DISCRETE):
            return list(response.bits[:count])
        return list(response.registers[:count])

    def _value(self, item: _Item, block_start: int, data: list[int] | list[bool]) -> Any:
        offset = item.spec.address - block_start
        if item.spec.table in (Table.COIL, Table.DISCRETE):
            return bool(data[offset])
        words = [int(word) for word in data[offset : offset + item.width]]
        return decode_registers(words, item.kind, item.byte_order, item.word_order)

    async def _read_block(self, block: _Block) -> list[_Block] | None:
        """Read and report one block; the blocks to use instead when it had to be split."""
        try:
            data = await self._request(block.table, block.start, block.count)
        except PointFailed as exc:
            if len(block.items) == 1:
                self.sink.point_error(block.items[0].point, str(exc))
                return None
            singles = [_Block(i.spec.table, i.spec.address, i.width, [i]) for i in block.items]
            for single in singles:
                await self._read_block(single)
            return singles
        ts = now_ms()
        for item in block.items:
            try:
                value = self._value(item, block.start, data)
            except (ValueError, struct.error, IndexError) as exc:
                self.sink.point_error(item.point, f"cannot decode: {exc}")
                continue
            self.sink.sample(item.point, value, ts)
        return None

    async def _poll(self, index: int, stop: asyncio.Event, lost: asyncio.Event) -> None:
        group, blocks = self.groups[index]
        next_at = time.monotonic()
        while not stop.is_set() and not lost.is_set():
            try:
                replaced: list[_Block] = []
                for block in blocks:
                    split = await self._read_block(block)
                    replaced.extend(split if split is not None else [block])
                blocks = replaced
                self.groups[index] = (group, blocks)
            except ConnectionLost as exc:
                self.lost_reason = str(exc)
                lost.set()
                return
            next_at += group.interval_s
            delay = next_at - time.monotonic()
            if delay < 0:
                next_at = time.monotonic()  # behind: poll again at once, do not pile up
                delay = 0
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())]
            await asyncio.wait(waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waits:
                waiter.cancel()

    async def run(self, stop: asyncio.Event) -> None:
        delay = self.config.reconnect_initial_s
        while not stop.is_set():
            self.lost_reason = ""
            lost = asyncio.Event()
            try:
                await self._connect()
            except ConnectionLost as exc:
                self.lost_reason = str(exc)
            else:
                self.sink.connector_state(self.config.name, True)
                log.info("gateway.modbus_connected", connector=self.config.name)
                delay = self.config.reconnect_initial_s
                pollers = [
                    asyncio.create_task(self._poll(i, stop, lost)) for i in range(len(self.groups))
                ]
                await asyncio.gather(*pollers)
            self._close()
            if stop.is_set():
                self.sink.connector_state(self.config.name, False, None)
                return
            reason = self.lost_reason or "connection lost"
            for item in self.items:
                self.sink.point_error(item.point, reason)
            self.sink.connector_state(self.config.name, False, reason)
            log.warning(
                "gateway.modbus_down", connector=self.config.name, reason=reason, retry_s=delay
            )
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                pass
            delay = min(delay * 2, self.config.reconnect_max_s)

    async def check(self) -> list[tuple[Point, Any, str | None]]:
        """Connect once and read every point on its own: (point, raw value, error)."""
        results: list[tuple[Point, Any, str | None]] = []
        try:
            await self._connect()
        except ConnectionLost as exc:
            return [(item.point, None, str(exc)) for item in self.items]
        try:
            for item in self.items:
                try:
                    data = await self._request(item.spec.table, item.spec.address, item.width)
                    results.append((item.point, self._value(item, item.spec.address, data), None))
                except (PointFailed, ConnectionLost, ValueError, struct.error) as exc:
                    results.append((item.point, None, str(exc)))
        finally:
            self._close()
        return results
