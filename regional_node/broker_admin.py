"""Keep Mosquitto's dynamic-security plugin in step with the node's devices.

Each provisioned device becomes a broker client with its own role, `device:{device_key}`, that
lets it publish only under its own topics; the node's ingest client gets a role that lets it read
everything devices send and publish Sparkplug host messages. Suspending or retiring a device
disables or deletes its broker client, which also disconnects it.

The plugin is driven over MQTT: JSON commands to `$CONTROL/dynamic-security/v1`, answers on
`.../response`, matched by the `correlationData` we put in each command. paho-mqtt runs its
network loop in its own thread; its callbacks hand results to the asyncio loop with
`call_soon_threadsafe`, so callers just `await`.

Behaviour of Mosquitto 2.0.11's plugin that shapes this module (checked against a real broker,
see tests/test_broker_admin.py):

- `disableClient`, `deleteClient`, `setClientPassword` and `addClientRole` disconnect every
  connected session of that username ("administrative action"); `addRoleACL`, `removeRoleACL`
  and `deleteRole` do not, and take effect on the next publish/subscribe.
- A will is checked against the publish ACLs when it is sent, not at CONNECT: an edge node whose
  NDEATH topic is outside its ACLs connects fine and its death certificate is silently dropped.
  The edge node ACL `spBv1.0/{group}/+/{edge_node}` covers NDEATH.
- A shared subscription `$share/{name}/{filter}` is checked as that literal filter, so it needs
  its own `subscribePattern` ACL (`$share/+/...`); an ACL for `{filter}` alone does not allow it.
- MQTT 5 publishers get PUBACK "Not authorized" for a refused QoS 1 message; MQTT 3.1.1 ones get a
  normal PUBACK and the message is dropped.
- Deleting a role that a client still holds leaves a dangling reference (`getClient` then returns
  garbage), so a device's client is deleted before its role.
- `addClientRole` for a role the client already holds answers "Internal error".
- Default ACL access: publishClientSend and subscribe denied, publishClientReceive and
  unsubscribe allowed, so roles only need to grant sends and subscriptions.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = structlog.get_logger(__name__)

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"
TELEMETRY_TOPIC = "yunfab/v1/telemetry"
SPARKPLUG_NAMESPACE = "spBv1.0"
DEVICE_ROLE_PREFIX = "device:"
INGEST_ROLE_PREFIX = "ingest:"
LIST_PAGE_SIZE = 100
KEEPALIVE_S = 30

# Names that become one topic level: no separators, wildcards or NULs, and no leading `$`
# (a `$`-topic would not be matched by the node's `#` subscriptions).
_TOPIC_LEVEL = re.compile(r"^[^/+#$\x00][^/+#\x00]*$")


class BrokerAdminError(RuntimeError):
    """A dynsec command failed (the message is the broker's error text) or got no answer."""


@dataclass(frozen=True)
class Acl:
    """One dynsec ACL entry; roles here only ever allow (the plugin's defaults deny)."""

    acltype: str
    topic: str
    allow: bool = True
    priority: int = 0

    def as_command_fields(self) -> dict[str, Any]:
        return {
            "acltype": self.acltype,
            "topic": self.topic,
            "allow": self.allow,
            "priority": self.priority,
        }


@dataclass(frozen=True)
class ClientInfo:
    """A broker client as dynsec lists it; `roles` lets the node tell its devices from others."""

    username: str
    disabled: bool
    roles: tuple[str, ...] = ()

    @property
    def device_key(self) -> str | None:
        """The device key when this client is one of the node's devices, else None."""
        return self.username if device_role(self.username) in self.roles else None


def device_role(device_key: str) -> str:
    return f"{DEVICE_ROLE_PREFIX}{device_key}"


def ingest_role(username: str) -> str:
    return f"{INGEST_ROLE_PREFIX}{username}"


def _check_level(what: str, value: str) -> None:
    # A device key is spliced into ACL topics: `#` or `a/b` would grant far more than one device.
    if not _TOPIC_LEVEL.match(value):
        raise ValueError(f"{what} {value!r} cannot be used as one MQTT topic level")


def device_acls(device_key: str, edge_node_group: str | None = None) -> list[Acl]:
    """Everything a device may do beyond the plugin's defaults, and nothing more.

    An edge node (Sparkplug) also publishes its NBIRTH/NDATA/NDEATH (its will) and its devices'
    DBIRTH/DDATA/DDEATH under its group, and listens to its commands and to host STATE.
    """
    _check_level("device key", device_key)
    acls = [Acl("publishClientSend", f"{TELEMETRY_TOPIC}/{device_key}")]
    if edge_node_group is not None:
        _check_level("edge node group", edge_node_group)
        group = f"{SPARKPLUG_NAMESPACE}/{edge_node_group}"
        acls += [
            Acl("publishClientSend", f"{group}/+/{device_key}"),
            Acl("publishClientSend", f"{group}/+/{device_key}/#"),
        ]
        for topic in (
            f"{group}/NCMD/{device_key}",
            f"{group}/DCMD/{device_key}/#",
            f"{SPARKPLUG_NAMESPACE}/STATE/#",
        ):
            acls += [Acl("subscribePattern", topic), Acl("publishClientReceive", topic)]
    return acls


def ingest_acls(host_id: str) -> list[Acl]:
    """The node's consumer: reads all device traffic, speaks as the Sparkplug host `host_id`."""
    _check_level("host id", host_id)
    acls: list[Acl] = []
    for topic in (
        f"{TELEMETRY_TOPIC}/#",
        f"{SPARKPLUG_NAMESPACE}/#",
        f"$share/+/{TELEMETRY_TOPIC}/#",
        f"$share/+/{SPARKPLUG_NAMESPACE}/#",
    ):
        acls.append(Acl("subscribePattern", topic))
    acls += [
        Acl("publishClientReceive", f"{TELEMETRY_TOPIC}/#"),
        Acl("publishClientReceive", f"{SPARKPLUG_NAMESPACE}/#"),
        Acl("publishClientSend", f"{SPARKPLUG_NAMESPACE}/STATE/{host_id}"),
        Acl("publishClientSend", f"{SPARKPLUG_NAMESPACE}/+/NCMD/#"),
        Acl("publishClientSend", f"{SPARKPLUG_NAMESPACE}/+/DCMD/#"),
    ]
    return acls


class BrokerAdmin:
    """An asyncio client of Mosquitto's dynamic-security control API.

    One MQTT connection (paho, network loop in its own thread) carries every command; it
    reconnects by itself after a broker restart, and commands wait for it within their timeout.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        *,
        timeout_s: float = 5.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self.timeout_s = timeout_s
        self._tls = tls
        self._client: mqtt.Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = asyncio.Event()
        self._first_connect: asyncio.Future[None] | None = None
        self._subscribe_mid: int | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._pending_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, log in as the dynsec admin and subscribe to the responses."""
        if self._client is not None:
            raise BrokerAdminError("broker admin already started")
        self._loop = asyncio.get_running_loop()
        self._first_connect = self._loop.create_future()
        client = _new_client(
            f"yunfab-broker-admin-{uuid.uuid4().hex[:12]}",
            self.username,
            self._password,
            self._tls,
            reconnect=True,
        )
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client
        try:
            await _tcp_connect(client, self.host, self.port, self.timeout_s)
            client.loop_start()
            await asyncio.wait_for(asyncio.shield(self._first_connect), self.timeout_s)
        except TimeoutError:
            await self._shutdown()
            raise BrokerAdminError(
                f"broker {self.host}:{self.port} did not accept the admin login within "
                f"{self.timeout_s:g}s"
            ) from None
        except BaseException:
            await self._shutdown()
            raise
        log.info("broker_admin.connected", host=self.host, port=self.port, user=self.username)

    async def close(self) -> None:
        await self._shutdown()

    async def __aenter__(self) -> BrokerAdmin:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _shutdown(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            # loop_stop joins the network thread, which may be sleeping before a reconnect.
            await asyncio.to_thread(client.loop_stop)
        self._ready.clear()
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(BrokerAdminError("broker admin closed"))

    # -- paho callbacks (network thread) ---------------------------------------------------------

    def _call_in_loop(self, callback: Any, *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(callback, *args)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.warning("broker_admin.login_refused", reason=str(reason_code))
            self._call_in_loop(
                self._fail_first_connect,
                BrokerAdminError(f"broker refused the admin login: {reason_code}"),
            )
            return
        # Clean sessions: the response subscription is made again on every (re)connect.
        result, mid = client.subscribe(RESPONSE_TOPIC, qos=1)
        if result is MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._subscribe_mid = mid

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if mid != self._subscribe_mid:
            return
        if any(code.is_failure for code in reason_codes):
            self._call_in_loop(
                self._fail_first_connect,
                BrokerAdminError(
                    f"{self.username!r} may not subscribe to {RESPONSE_TOPIC}: is it the dynsec "
                    f"admin? ({reason_codes[0]})"
                ),
            )
            return
        self._call_in_loop(self._became_ready)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self._client is client:
            log.warning("broker_admin.disconnected", reason=str(reason_code))
        self._call_in_loop(self._ready.clear)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            # The plugin can put invalid UTF-8 in an answer (a dangling role name): keep the rest.
            body = json.loads(message.payload.decode("utf-8", errors="replace"))
            responses = body["responses"]
        except (ValueError, KeyError, TypeError):
            log.warning("broker_admin.bad_response", payload=message.payload[:200])
            return
        for response in responses if isinstance(responses, list) else []:
            if not isinstance(response, dict):
                continue
            correlation = response.get("correlationData")
            with self._pending_lock:
                future = self._pending.pop(correlation, None) if correlation else None
            if future is not None:
                self._call_in_loop(_resolve, future, response)

    # -- loop-side state changes -----------------------------------------------------------------

    def _became_ready(self) -> None:
        self._ready.set()
        if self._first_connect is not None and not self._first_connect.done():
            self._first_connect.set_result(None)

    def _fail_first_connect(self, error: BrokerAdminError) -> None:
        if self._first_connect is not None and not self._first_connect.done():
            self._first_connect.set_exception(error)

    # -- commands --------------------------------------------------------------------------------

    async def execute(self, command: dict[str, Any]) -> dict[str, Any]:
        """Run one dynsec command; returns its `data` (or `{}`), raises on an error answer."""
        response = await self._send(command)
        error = response.get("error")
        if error:
            raise BrokerAdminError(f"{command['command']}: {error}")
        data = response.get("data")
        return data if isinstance(data, dict) else {}

    async def _send(self, command: dict[str, Any]) -> dict[str, Any]:
        client, loop = self._client, self._loop
        if client is None or loop is None:
            raise BrokerAdminError("broker admin not started")
        name = command.get("command", "?")
        deadline = loop.time() + self.timeout_s
        try:
            await asyncio.wait_for(self._ready.wait(), self.timeout_s)
        except TimeoutError:
            raise BrokerAdminError(
                f"{name}: not connected to broker {self.host}:{self.port}"
            ) from None
        correlation = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        with self._pending_lock:
            self._pending[correlation] = future
        try:
            payload = json.dumps({"commands": [{**command, "correlationData": correlation}]})
            # QoS 0: a command lost with its connection times out here instead of being replayed
            # by paho after the caller has already been told it failed.
            info = client.publish(CONTROL_TOPIC, payload, qos=0)
            if info.rc is not MQTTErrorCode.MQTT_ERR_SUCCESS:
                raise BrokerAdminError(f"{name}: cannot send ({mqtt.error_string(info.rc)})")
            remaining = max(deadline - loop.time(), 0.0)
            return await asyncio.wait_for(future, remaining)
        except TimeoutError:
            raise BrokerAdminError(
                f"{name}: no answer from broker {self.host}:{self.port} within {self.timeout_s:g}s"
            ) from None
        finally:
            with self._pending_lock:
                self._pending.pop(correlation, None)

    async def _get_or_none(self, command: dict[str, Any], missing: str) -> dict[str, Any] | None:
        response = await self._send(command)
        error = response.get("error")
        if error == missing:
            return None
        if error:
            raise BrokerAdminError(f"{command['command']}: {error}")
        data = response.get("data")
        return data if isinstance(data, dict) else {}

    async def _ensure_role(self, rolename: str, acls: list[Acl]) -> None:
        """Create the role with exactly `acls`, or bring an existing one to exactly `acls`."""
        data = await self._get_or_none(
            {"command": "getRole", "rolename": rolename}, "Role not found"
        )
        if data is None:
            await self.execute(
                {
                    "command": "createRole",
                    "rolename": rolename,
                    "acls": [acl.as_command_fields() for acl in acls],
                }
            )
            return
        current = {
            (entry["acltype"], entry["topic"]): Acl(
                entry["acltype"],
                entry["topic"],
                bool(entry.get("allow", False)),
                int(entry.get("priority", 0)),
            )
            for entry in data.get("role", {}).get("acls", [])
        }
        wanted = {(acl.acltype, acl.topic): acl for acl in acls}
        # Removing first: dynsec keys ACLs by (type, topic), so a changed one is removed and added.
        for key, acl in current.items():
            if wanted.get(key) != acl:
                await self.execute(
                    {
                        "command": "removeRoleACL",
                        "rolename": rolename,
                        "acltype": acl.acltype,
                        "topic": acl.topic,
                    }
                )
        for key, acl in wanted.items():
            if current.get(key) != acl:
                await self.execute(
                    {"command": "addRoleACL", "rolename": rolename, **acl.as_command_fields()}
                )

    async def _ensure_client(
        self,
        username: str,
        password: str,
        rolename: str,
        *,
        keep_sessions: bool,
        clientid: str | None = None,
    ) -> None:
        """Create the client holding only `rolename`, or bring an existing one to that state.

        Changing the password disconnects the client's sessions (dynsec does); with
        `keep_sessions` the password is first tried with a throwaway login and left alone when
        it already works, so a restarting node does not kick its own ingest client.
        """
        data = await self._get_or_none(
            {"command": "getClient", "username": username}, "Client not found"
        )
        if data is None:
            await self.execute(
                {
                    "command": "createClient",
                    "username": username,
                    "password": password,
                    "roles": [{"rolename": rolename}],
                    **({"clientid": clientid} if clientid else {}),
                }
            )
            log.info("broker_admin.client_created", username=username, role=rolename)
            return
        client = data.get("client", {})
        roles = {entry.get("rolename") for entry in client.get("roles", [])}
        groups = {entry.get("groupname") for entry in client.get("groups", [])}
        if rolename.startswith(DEVICE_ROLE_PREFIX) and rolename not in roles:
            # Provisioning may re-provision a device, never take over another broker client
            # (the node's own consumer, a person's login) that happens to have that name.
            raise BrokerAdminError(f"{username!r} is a broker client that is not this device")
        if not (keep_sessions and await self._login_works(username, password)):
            await self.execute(
                {"command": "setClientPassword", "username": username, "password": password}
            )
        for other in sorted(str(role) for role in roles - {rolename}):
            await self.execute(
                {"command": "removeClientRole", "username": username, "rolename": other}
            )
        for group in sorted(str(group) for group in groups):
            await self.execute(
                {"command": "removeGroupClient", "groupname": group, "username": username}
            )
        if rolename not in roles:
            await self.execute(
                {"command": "addClientRole", "username": username, "rolename": rolename}
            )
        if clientid is not None and client.get("clientid") != clientid:
            await self.execute(
                {"command": "setClientId", "username": username, "clientid": clientid}
            )
        log.info("broker_admin.client_updated", username=username, role=rolename)

    async def _login_works(self, username: str, password: str) -> bool:
        client = _new_client(
            f"yunfab-login-check-{uuid.uuid4().hex[:12]}",
            username,
            password,
            self._tls,
            reconnect=False,
        )
        loop = asyncio.get_running_loop()
        outcome: asyncio.Future[bool] = loop.create_future()

        def on_connect(
            client: mqtt.Client,
            userdata: Any,
            flags: mqtt.ConnectFlags,
            reason_code: ReasonCode,
            properties: Properties | None,
        ) -> None:
            loop.call_soon_threadsafe(_resolve, outcome, not reason_code.is_failure)

        def on_disconnect(
            client: mqtt.Client,
            userdata: Any,
            flags: mqtt.DisconnectFlags,
            reason_code: ReasonCode,
            properties: Properties | None,
        ) -> None:
            loop.call_soon_threadsafe(_resolve, outcome, False)

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        try:
            await _tcp_connect(client, self.host, self.port, self.timeout_s)
            client.loop_start()
            return await asyncio.wait_for(outcome, self.timeout_s)
        except (BrokerAdminError, TimeoutError):
            return False
        finally:
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)

    def _check_not_admin(self, username: str) -> None:
        if username == self.username:
            raise BrokerAdminError(f"{username!r} is the broker admin, not a device")

    # -- public API ------------------------------------------------------------------------------

    async def provision_device(
        self, device_key: str, password: str, *, edge_node_group: str | None = None
    ) -> None:
        """Make `device_key` a broker client that may publish only under its own topics.

        Idempotent: an existing client gets the new password (which disconnects it, so it logs
        in again with the new one) and exactly the role `device:{device_key}`, whose ACLs are
        reset to what `edge_node_group` calls for. A disabled client stays disabled.
        """
        acls = device_acls(device_key, edge_node_group)
        self._check_not_admin(device_key)
        rolename = device_role(device_key)
        await self._ensure_role(rolename, acls)
        # Bound to its own client id too: a device cannot connect as another client (the node's
        # consumer, another device) and push that session off the broker.
        await self._ensure_client(
            device_key, password, rolename, keep_sessions=False, clientid=device_key
        )
        log.info(
            "broker_admin.device_provisioned",
            device_key=device_key,
            edge_node_group=edge_node_group,
        )

    async def disable_device(self, device_key: str) -> None:
        """Refuse the device's logins; dynsec also disconnects its live sessions."""
        self._check_not_admin(device_key)
        await self.execute({"command": "disableClient", "username": device_key})
        log.info("broker_admin.device_disabled", device_key=device_key)

    async def enable_device(self, device_key: str) -> None:
        await self.execute({"command": "enableClient", "username": device_key})
        log.info("broker_admin.device_enabled", device_key=device_key)

    async def delete_device(self, device_key: str) -> None:
        """Remove the device's client (disconnecting it) and its role; a missing one is fine.

        The client goes first: dynsec 2.0 leaves a dangling reference if a held role is deleted.
        """
        self._check_not_admin(device_key)
        response = await self._send({"command": "deleteClient", "username": device_key})
        if response.get("error") not in (None, "Client not found"):
            raise BrokerAdminError(f"deleteClient: {response['error']}")
        response = await self._send({"command": "deleteRole", "rolename": device_role(device_key)})
        if response.get("error") not in (None, "Role not found"):
            raise BrokerAdminError(f"deleteRole: {response['error']}")
        log.info("broker_admin.device_deleted", device_key=device_key)

    async def set_password(self, device_key: str, password: str) -> None:
        """New credentials; dynsec disconnects the sessions opened with the old ones."""
        self._check_not_admin(device_key)
        await self.execute(
            {"command": "setClientPassword", "username": device_key, "password": password}
        )
        log.info("broker_admin.password_set", device_key=device_key)

    async def ensure_ingest_client(self, username: str, password: str, host_id: str) -> None:
        """Create or update the node's own consumer; a live session with the same password is
        left connected (see `_ensure_client`)."""
        acls = ingest_acls(host_id)
        self._check_not_admin(username)
        rolename = ingest_role(username)
        await self._ensure_role(rolename, acls)
        await self._ensure_client(username, password, rolename, keep_sessions=True)
        log.info("broker_admin.ingest_client_ready", username=username, host_id=host_id)

    async def list_clients(self, *, page_size: int = LIST_PAGE_SIZE) -> list[ClientInfo]:
        """Every broker client with its disabled flag and roles, paged so big nodes fit."""
        if page_size < 1:
            raise ValueError("page_size must be positive")
        clients: list[ClientInfo] = []
        offset = 0
        while True:
            data = await self.execute(
                {"command": "listClients", "verbose": True, "count": page_size, "offset": offset}
            )
            page = data.get("clients", [])
            clients.extend(_client_info(entry) for entry in page if isinstance(entry, dict))
            offset += len(page)
            if not page or offset >= int(data.get("totalCount", 0)):
                return clients


def _client_info(entry: dict[str, Any]) -> ClientInfo:
    roles: Iterable[dict[str, Any]] = entry.get("roles", [])
    return ClientInfo(
        username=str(entry["username"]),
        disabled=bool(entry.get("disabled", False)),
        roles=tuple(str(role.get("rolename")) for role in roles),
    )


def _resolve(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _new_client(
    client_id: str, username: str, password: str, tls: ssl.SSLContext | None, *, reconnect: bool
) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
        reconnect_on_failure=reconnect,
    )
    client.username_pw_set(username, password)
    if tls is not None:
        client.tls_set_context(tls)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client


async def _tcp_connect(client: mqtt.Client, host: str, port: int, timeout_s: float) -> None:
    """Open the socket and send CONNECT (paho's blocking part) off the event loop."""
    try:
        await asyncio.wait_for(
            asyncio.to_thread(client.connect, host, port, KEEPALIVE_S), timeout_s
        )
    except TimeoutError:
        raise BrokerAdminError(f"cannot reach broker {host}:{port}: timed out") from None
    except (OSError, ValueError) as exc:
        raise BrokerAdminError(f"cannot reach broker {host}:{port}: {exc}") from exc
