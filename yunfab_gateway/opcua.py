"""OPC UA connector (asyncua): browse to each point, subscribe with its sampling interval and
deadband, and hand every value change to the gateway with the server's source timestamp.

Security `None`, or `Basic256Sha256` with `Sign` or `SignAndEncrypt`: the gateway's own
application certificate and key are made on first run when missing (`data_dir/pki/`), and the
server's certificate is pinned when the config names one (taken from its endpoints otherwise;
the server must still trust the gateway's certificate). A lost connection is noticed by the
client's watchdog; the connector then marks its machine down, reconnects with capped
exponential back-off, resolves the points again and subscribes them again.

A point whose browse path or node id does not resolve, or whose value arrives with a bad
status, is reported on that point and the others go on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.common.subscription import DataChangeNotif, Subscription
from asyncua.crypto import security_policies
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.uaerrors import UaError
from cryptography.x509.oid import ExtendedKeyUsageOID

from yunfab_gateway.config import OpcUaConnector, OpcUaPoint, Security, SecurityMode
from yunfab_gateway.mapping import Point, Sink, now_ms

log = structlog.get_logger(__name__)

_ABSOLUTE = 1
_PERCENT = 2


@dataclass
class _Bound:
    point: Point
    spec: OpcUaPoint
    node: Node | None = None
    client_band: float | None = None
    last: float | None = None


def application_uri(edge_node: str) -> str:
    return f"urn:yunfab:gateway:{edge_node}"


async def ensure_certificate(pki: Path, edge_node: str) -> tuple[Path, Path]:
    """The gateway's OPC UA application certificate (DER) and key (PEM), made if missing."""
    await asyncio.to_thread(pki.mkdir, parents=True, exist_ok=True)
    cert, key = pki / "gateway-cert.der", pki / "gateway-key.pem"
    await setup_self_signed_certificate(
        key,
        cert,
        application_uri(edge_node),
        socket.gethostname(),
        [ExtendedKeyUsageOID.CLIENT_AUTH],
        {"organizationName": "Yunfab gateway", "commonName": edge_node},
    )
    await asyncio.to_thread(key.chmod, 0o600)
    return cert, key


def _millis(value: dt.datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp() * 1000)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class OpcUaSource:
    def __init__(
        self,
        config: OpcUaConnector,
        points: Sequence[Point],
        sink: Sink,
        *,
        edge_node: str,
        pki: Path,
    ) -> None:
        specs = {p.metric: p for p in config.points}
        self.config = config
        self.bound = [_Bound(point, specs[point.metric]) for point in points]
        self.sink = sink
        self.edge_node = edge_node
        self.pki = pki
        self.by_node: dict[str, list[_Bound]] = {}

    # --- connection --------------------------------------------------------------------------

    async def _client(self) -> Client:
        # The watchdog probes the server every `timeout_s` and gives a probe as long: a busy box
        # must not read as a lost machine (a closed connection is noticed at once anyway).
        client = Client(
            self.config.url,
            timeout=self.config.timeout_s,
            watchdog_intervall=self.config.timeout_s,
        )
        client.name = f"Yunfab gateway {self.edge_node}"
        client.application_uri = application_uri(self.edge_node)
        if self.config.username is not None:
            client.set_user(self.config.username)
        if self.config.password is not None:
            client.set_password(self.config.password.get_secret_value())
        if self.config.security is Security.BASIC256SHA256:
            cert, key = self.config.certificate, self.config.private_key
            if cert is None or key is None or not cert.exists() or not key.exists():
                made_cert, made_key = await ensure_certificate(self.pki, self.edge_node)
                cert, key = cert if cert and cert.exists() else made_cert, made_key
            mode = (
                ua.MessageSecurityMode.Sign
                if self.config.mode is SecurityMode.SIGN
                else ua.MessageSecurityMode.SignAndEncrypt
            )
            server = self.config.server_certificate
            await client.set_security(
                security_policies.SecurityPolicyBasic256Sha256,
                certificate=str(cert),
                private_key=str(key),
                server_certificate=str(server) if server is not None else None,
                mode=mode,
            )
        return client

    async def _namespace(self, client: Client) -> dict[str, int]:
        array = await client.get_namespace_array()
        found: dict[str, int] = {}
        for prefix, uri in self.config.namespaces.items():
            if uri in array:
                found[prefix] = array.index(uri)
        return found

    async def _browse(self, start: Node, path: str, namespaces: dict[str, int]) -> Node:
        node = start
        for step in [s for s in path.split("/") if s]:
            prefix, _, name = step.rpartition(":")
            index: int | None = None
            if prefix:
                if prefix.isdigit():
                    index = int(prefix)
                elif prefix in namespaces:
                    index = namespaces[prefix]
                elif prefix in self.config.namespaces:
                    raise LookupError(
                        f"the server has no namespace {self.config.namespaces[prefix]}"
                    )
                else:
                    raise LookupError(f"unknown namespace prefix {prefix!r} in {path!r}")
            children = await node.get_children_descriptions()
            match = [
                ref
                for ref in children
                if ref.BrowseName.Name == name
                and (index is None or ref.BrowseName.NamespaceIndex == index)
            ]
            if not match:
                raise LookupError(f"no {step!r} below {node.nodeid.to_string()}")
            node = Node(node.session, match[0].NodeId)
        return node

    async def _root(self, client: Client, namespaces: dict[str, int]) -> Node:
        root = self.config.root
        objects = client.nodes.objects
        if root is None:
            return objects
        if root.startswith(("ns=", "i=", "s=", "g=", "b=")):
            return client.get_node(root)
        return await self._browse(objects, root, namespaces)

    async def _resolve(self, client: Client) -> list[_Bound]:
        namespaces = await self._namespace(client)
        root = await self._root(client, namespaces)
        resolved = []
        for bound in self.bound:
            spec = bound.spec
            try:
                if spec.node is not None:
                    node = client.get_node(spec.node)
                    await node.read_node_class()  # an unknown node id fails here
                else:
                    node = await self._browse(root, spec.path or "", namespaces)
            except (LookupError, UaError, ValueError) as exc:
                where = spec.node or spec.path
                reason = str(exc) if isinstance(exc, LookupError) else _first_line(exc)
                self.sink.point_error(bound.point, f"cannot resolve {where}: {reason}")
                bound.node = None
                continue
            bound.node = node
            resolved.append(bound)
        return resolved

    # --- subscription ------------------------------------------------------------------------

    def _filter(self, spec: OpcUaPoint) -> ua.DataChangeFilter | None:
        if spec.deadband_absolute is not None and spec.deadband_absolute > 0:
            kind, value = _ABSOLUTE, spec.deadband_absolute
        elif spec.deadband_percent is not None and spec.deadband_percent > 0:
            kind, value = _PERCENT, spec.deadband_percent
        else:
            return None
        return ua.DataChangeFilter(
            Trigger=ua.DataChangeTrigger.StatusValue, DeadbandType=kind, DeadbandValue=value
        )

    def _client_band(self, spec: OpcUaPoint) -> float | None:
        """The deadband the connector applies itself when the server refuses the filter."""
        if spec.deadband_absolute:
            return spec.deadband_absolute
        if spec.deadband_percent and spec.min is not None and spec.max is not None:
            return spec.deadband_percent / 100 * (spec.max - spec.min)
        return None

    async def _subscribe(self, client: Client, bound: list[_Bound]) -> Subscription:
        subscription = await client.create_subscription(self.config.publishing_interval_ms, self)
        self.by_node = {}
        for item in bound:
            assert item.node is not None
            self.by_node.setdefault(item.node.nodeid.to_string(), []).append(item)
        requests, items = [], []
        for item in bound:
            assert item.node is not None
            # Servers may accept a deadband filter and not apply it (asyncua's own does that
            # with percent deadbands): the connector applies the same band to what arrives.
            item.client_band = self._client_band(item.spec)
            item.last = None
            interval = item.spec.sampling_interval_ms or self.config.sampling_interval_ms
            requests.append(
                subscription._make_monitored_item_request(
                    item.node,
                    AttributeIds.Value,
                    self._filter(item.spec),
                    10,
                    ua.MonitoringMode.Reporting,
                    ua.Double(interval),
                )
            )
            items.append(item)
        results = await subscription.create_monitored_items(requests) if requests else []
        retry = []
        for item, result in zip(items, results, strict=True):
            if not isinstance(result, ua.StatusCode):
                continue
            band = self._client_band(item.spec)
            if self._filter(item.spec) is not None and band is not None:
                retry.append(item)  # the server does not do this deadband: we do
                continue
            self.sink.point_error(item.point, f"cannot subscribe: {result.name}")
        if retry:
            requests = []
            for item in retry:
                assert item.node is not None
                item.client_band = self._client_band(item.spec)
                interval = item.spec.sampling_interval_ms or self.config.sampling_interval_ms
                requests.append(
                    subscription._make_monitored_item_request(
                        item.node,
                        AttributeIds.Value,
                        None,
                        10,
                        ua.MonitoringMode.Reporting,
                        ua.Double(interval),
                    )
                )
            again = await subscription.create_monitored_items(requests)
            for item, result in zip(retry, again, strict=True):
                if isinstance(result, ua.StatusCode):
                    self.sink.point_error(item.point, f"cannot subscribe: {result.name}")
        return subscription

    def datachange_notification(self, node: Node, val: Any, data: DataChangeNotif) -> None:
        """asyncua's callback (in the event loop): one value change of one monitored item."""
        items = self.by_node.get(node.nodeid.to_string(), [])
        value: ua.DataValue = data.monitored_item.Value
        status = value.StatusCode
        ts = _millis(value.SourceTimestamp) or _millis(value.ServerTimestamp) or now_ms()
        for item in items:
            if status is not None and not status.is_good():
                self.sink.point_error(item.point, f"bad status {status.name}")
                continue
            if item.client_band is not None and isinstance(val, int | float):
                if item.last is not None and abs(float(val) - item.last) <= item.client_band:
                    continue
                item.last = float(val)
            self.sink.sample(item.point, val, ts)

    def status_change_notification(self, status: ua.StatusChangeNotification) -> None:
        log.info("gateway.opcua_status", connector=self.config.name, status=str(status.Status))

    # --- the loop ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        delay = self.config.reconnect_initial_s
        while not stop.is_set():
            lost = asyncio.Event()
            client: Client | None = None
            up = False
            try:
                client = await self._client()

                async def on_lost(exc: Exception, lost: asyncio.Event = lost) -> None:
                    lost.set()

                client.connection_lost_callback = on_lost
                await client.connect()
                bound = await self._resolve(client)
                await self._subscribe(client, bound)
                up = True
                self.sink.connector_state(self.config.name, True)
                log.info("gateway.opcua_connected", connector=self.config.name, points=len(bound))
                delay = self.config.reconnect_initial_s
                waits = [asyncio.ensure_future(lost.wait()), asyncio.ensure_future(stop.wait())]
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waits:
                    waiter.cancel()
                reason = "connection lost" if lost.is_set() else None
            except (OSError, TimeoutError, UaError, ConnectionError) as exc:
                reason = f"cannot connect to {self.config.url}: {_first_line(exc)}"
            finally:
                if client is not None:
                    await _disconnect(client)
            if reason is not None:
                for item in self.bound:
                    self.sink.point_error(item.point, reason)
                log.warning(
                    "gateway.opcua_down", connector=self.config.name, reason=reason, retry_s=delay
                )
            if up or reason is not None:
                self.sink.connector_state(self.config.name, False, reason)
            if stop.is_set():
                return
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                pass
            delay = min(delay * 2, self.config.reconnect_max_s)

    async def check(self) -> list[tuple[Point, Any, str | None]]:
        """Connect once and read every point: (point, raw value, error)."""
        results: list[tuple[Point, Any, str | None]] = []
        errors: dict[int, str] = {}

        class _Collect:
            def sample(self, point: Point, raw: Any, ts_ms: int) -> None:
                pass

            def point_error(self, point: Point, reason: str) -> None:
                errors[id(point)] = reason

            def connector_state(self, connector: str, up: bool, reason: str | None = None) -> None:
                pass

        sink, self.sink = self.sink, _Collect()
        client: Client | None = None
        try:
            client = await self._client()
            await client.connect()
            bound = await self._resolve(client)
            for item in bound:
                assert item.node is not None
                try:
                    value = await item.node.read_data_value()
                except UaError as exc:
                    errors[id(item.point)] = f"cannot read: {_first_line(exc)}"
                    continue
                if value.StatusCode is not None and not value.StatusCode.is_good():
                    errors[id(item.point)] = f"bad status {value.StatusCode.name}"
                    continue
                results.append((item.point, value.Value.Value if value.Value else None, None))
        except (OSError, TimeoutError, UaError, ConnectionError) as exc:
            reason = f"cannot connect to {self.config.url}: {_first_line(exc)}"
            for item in self.bound:
                errors.setdefault(id(item.point), reason)
        finally:
            self.sink = sink
            if client is not None:
                await _disconnect(client)
        read = {id(point) for point, _, _ in results}
        for item in self.bound:
            if id(item.point) not in read:
                results.append((item.point, None, errors.get(id(item.point), "not read")))
        order = {id(item.point): n for n, item in enumerate(self.bound)}
        results.sort(key=lambda row: order[id(row[0])])
        return results


async def _disconnect(client: Client) -> None:
    try:
        await asyncio.wait_for(client.disconnect(), timeout=5)
    except Exception as exc:  # noqa: BLE001 - a broken connection may fail in any way here
        log.debug("gateway.opcua_disconnect_failed", error=_first_line(exc))
