"""Where the hub may send a request for a node: the rules a node's base URL must meet.

The hub calls a node's URL itself (live queries) and mints tokens for it, so a URL that points at
the hub's own network would turn the hub into a proxy for whoever registered it. A URL is checked
twice: as written, when it is enrolled or changed (scheme, no credentials, no literal loopback,
link-local, private or otherwise non-global address, no `localhost`), and at each fetch, when its
name is resolved: every address the name resolves to must be global, and the request goes to the
address that was checked (the name still given for TLS and `Host`), so a name cannot resolve to a
public address when checked and a private one when connected (DNS rebinding). Nodes on a private
network are allowed by `node_urls_allow_private`, on in development (the demo and the tests run
on loopback).

Names under `.invalid` (RFC 6761) are never a node's URL: the hub marks a node a hub operator
must move with one (`https://url-shared.invalid/<name>`, see the unique node URLs migration), and
neither the node nor anyone else can enrol, keep calling or be called at such a URL.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from hub.federation.errors import NodeUrlRefused
from hub.settings import HubSettings
from yunfab.settings import normalize_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
"""Host and port to the addresses the name resolves to; replaced in tests."""


@dataclass(frozen=True)
class NodeUrlRules:
    allow_private: bool
    """Loopback, link-local and private addresses allowed (development, private networks)."""
    require_https: bool


def node_url_rules(settings: HubSettings) -> NodeUrlRules:
    return NodeUrlRules(
        allow_private=settings.allow_private_node_urls, require_https=not settings.development
    )


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_public(address: IPAddress) -> bool:
    """A global unicast address: not loopback, link-local, private, shared, reserved,
    multicast or unspecified, including IPv4 addresses written as IPv6 (mapped, 6to4...)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not address.is_multicast


def _placeholder_name(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name == "invalid" or name.endswith(".invalid")


def _local_name(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def check_node_url(url: str, rules: NodeUrlRules) -> str:
    """The URL in its one spelling, or `NodeUrlRefused` with the reason."""
    try:
        normalized = normalize_url(url)
    except ValueError as exc:
        raise NodeUrlRefused("a node's URL must be an absolute http(s) URL") from exc
    parts = urlsplit(normalized)
    if parts.username is not None or parts.password is not None:
        raise NodeUrlRefused("a node's URL must not carry credentials")
    if parts.query or parts.fragment:
        raise NodeUrlRefused("a node's URL must not have a query or a fragment")
    if rules.require_https and parts.scheme != "https":
        raise NodeUrlRefused("a node's URL must be https outside development")
    host = parts.hostname or ""
    if _placeholder_name(host):
        raise NodeUrlRefused(
            "a node's URL must not be under .invalid: that marks a node a hub operator must "
            "move to its URL (yunfab hub node move, changeRegionalNodeUrl)"
        )
    if not rules.allow_private:
        address = _literal_address(host)
        if _local_name(host) or (address is not None and not is_public(address)):
            raise NodeUrlRefused(
                f"a node's URL must not point at a loopback, link-local or private address "
                f"({host}); allow it with YUNFAB_HUB_NODE_URLS_ALLOW_PRIVATE"
            )
    return normalized


async def resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(info[4][0]) for info in infos]


async def public_address(host: str, port: int, resolver: Resolver = resolve) -> str:
    """The address to connect to for `host`: itself when literal, else what its name resolves
    to, refused unless every resolved address is public (one private answer among public ones
    could be the one a later lookup picks)."""
    literal = _literal_address(host)
    if literal is not None:
        if not is_public(literal):
            raise NodeUrlRefused(f"{host} is not a public address")
        return str(literal)
    if _local_name(host):
        raise NodeUrlRefused(f"{host} is not a public name")
    try:
        found = await resolver(host, port)
    except OSError as exc:
        raise NodeUrlRefused(f"{host} does not resolve") from exc
    addresses = [ipaddress.ip_address(a.partition("%")[0]) for a in found]
    if not addresses:
        raise NodeUrlRefused(f"{host} does not resolve")
    if not all(is_public(a) for a in addresses):
        raise NodeUrlRefused(f"{host} resolves to a loopback, link-local or private address")
    return str(addresses[0])
