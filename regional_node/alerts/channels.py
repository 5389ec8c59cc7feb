"""Sending one notification the way each messenger expects it, and checking where it may go.

Generic webhooks get JSON signed with HMAC-SHA256 over "<timestamp>.<body>" (headers
X-Yunfab-Timestamp, X-Yunfab-Signature: sha256=<hex>). WeCom (企业微信) group robots get markdown;
DingTalk (钉钉) custom robots get markdown, signed ("加签") with timestamp and sign in the URL's
query; Feishu (飞书) custom bots get text, signed with timestamp and sign in the body. Email goes
over SMTP as plain text. Every message names the alert, device, factory, value, severity, the
time in the node's zone, and links to the console's page for the alert.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import re
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

import aiosmtplib
import httpx

from regional_node.alerts.errors import UnsafeDestination
from regional_node.alerts.models import ContactKind
from yunfab.errors import InvalidInput

MAX_URL = 2000
MAX_RESPONSE_BYTES = 64 * 1024
OFFICIAL_HOSTS: dict[ContactKind, frozenset[str]] = {
    ContactKind.WECOM: frozenset({"qyapi.weixin.qq.com"}),
    ContactKind.DINGTALK: frozenset({"oapi.dingtalk.com"}),
    ContactKind.FEISHU: frozenset({"open.feishu.cn", "open.larksuite.com"}),
}
"""Outside development a messenger's robot URL must be on the messenger's own host."""
EMAIL = re.compile(r"^[^@\s,;<>]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
EVENT_TITLES = {
    "opened": "告警触发 Alert opened",
    "escalated": "告警升级 Alert escalated",
    "closed": "告警恢复 Alert closed",
    "test": "测试消息 Test message",
}
SEVERITY_NAMES = {"info": "提示 info", "warning": "警告 warning", "critical": "严重 critical"}


@dataclass(frozen=True)
class SmtpOptions:
    host: str
    port: int
    starttls: bool
    username: str | None
    password_file: Path | None
    sender: str


@dataclass(frozen=True)
class ChannelOptions:
    node_url: str
    zone: ZoneInfo
    timeout_s: float
    development: bool
    smtp: SmtpOptions | None


@dataclass(frozen=True)
class Destination:
    kind: ContactKind
    url: str | None
    secret: str | None
    recipients: list[str]


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int


async def check_url(url: str, kind: ContactKind, *, development: bool) -> httpx.URL:
    """Where a contact point may post: https, on the messenger's own host for a robot, and (to
    keep the node from being pointed at its own network) only to public addresses, as the name
    resolves now. Development allows http and local receivers."""
    if len(url) > MAX_URL:
        raise UnsafeDestination(f"url: at most {MAX_URL} characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise UnsafeDestination(f"url: not a URL ({exc})") from exc
    schemes = ("https", "http") if development else ("https",)
    if parsed.scheme not in schemes or not parsed.host:
        raise UnsafeDestination("url: an https URL is required" if not development else
                                "url: an http or https URL is required")  # fmt: skip
    if parsed.userinfo:
        raise UnsafeDestination("url: no user name or password in the URL")
    official = OFFICIAL_HOSTS.get(kind)
    if not development and official is not None and parsed.host not in official:
        raise UnsafeDestination(
            f"url: a {kind.value} robot URL is on {', '.join(sorted(official))}"
        )
    for address in await _addresses(parsed):
        if not development and (not address.is_global or address.is_multicast):
            raise UnsafeDestination(
                f"url: {parsed.host} resolves to {address}, which is not a public address"
            )
    return parsed


async def _addresses(url: httpx.URL) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    host = url.host
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        async with asyncio.timeout(5):
            infos = await asyncio.get_running_loop().getaddrinfo(host, port)
    except (OSError, TimeoutError) as exc:
        raise UnsafeDestination(f"url: cannot resolve {host}") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def check_recipients(recipients: list[str]) -> list[str]:
    cleaned = sorted({address.strip() for address in recipients})
    if not 1 <= len(cleaned) <= 20:
        raise InvalidInput("recipients: 1 to 20 email addresses")
    for address in cleaned:
        if not EMAIL.match(address):
            raise InvalidInput(f"recipients: {address!r} is not an email address")
    return cleaned


@dataclass(frozen=True)
class Rendered:
    title: str
    lines: list[tuple[str, str]]
    link: str | None

    def markdown(self) -> str:
        body = "\n".join(f"> **{label}**: {value}" for label, value in self.lines)
        link = f"\n\n[查看告警 Open in console]({self.link})" if self.link else ""
        return f"### {self.title}\n{body}{link}"

    def text(self) -> str:
        body = "\n".join(f"{label}: {value}" for label, value in self.lines)
        link = f"\n查看告警 Open in console: {self.link}" if self.link else ""
        return f"{self.title}\n{body}{link}"


def render(facts: dict[str, Any], options: ChannelOptions) -> Rendered:
    """The message's words from the facts the outbox kept (times in the node's zone)."""
    event = str(facts.get("event", "test"))
    severity = str(facts.get("severity", "info"))
    at = dt.datetime.fromisoformat(str(facts["at"])).astimezone(options.zone)
    value = facts.get("value")
    lines = [
        ("级别 Severity", SEVERITY_NAMES.get(severity, severity)),
        ("工厂 Factory", str(facts.get("factory", "-"))),
        ("设备 Device", str(facts.get("device", "-"))),
        (
            "指标 Metric",
            f"{facts.get('metric', '-')} = {value:g}"
            if isinstance(value, int | float)
            else str(facts.get("metric", "-")),
        ),  # fmt: skip
        ("时间 Time", f"{at:%Y-%m-%d %H:%M:%S} ({options.zone.key})"),
        ("详情 Details", str(facts.get("message", ""))),
    ]
    alert_id = facts.get("alert_id")
    link = f"{options.node_url.rstrip('/')}/alerts/{alert_id}" if alert_id else None
    title = f"[{severity.upper()}] {EVENT_TITLES.get(event, event)}: {facts.get('rule', '')}"
    # One line: it becomes a mail's Subject and a robot's title.
    title = " ".join(title.split()).rstrip(": ")
    return Rendered(title=title, lines=lines, link=link)


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """What a receiver recomputes: HMAC-SHA256 of "<timestamp>.<body>" with the shared secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """DingTalk's 加签: base64 HMAC-SHA256, keyed by the secret, of "<timestamp>\\n<secret>"."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def feishu_sign(secret: str, timestamp_s: str) -> str:
    """Feishu's signature: base64 HMAC-SHA256 keyed by "<timestamp>\\n<secret>" of nothing."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def _request(
    destination: Destination, facts: dict[str, Any], rendered: Rendered
) -> tuple[str, bytes, dict[str, str]]:
    """URL, body and headers of the POST for an HTTP kind."""
    assert destination.url is not None
    url, secret = destination.url, destination.secret
    headers = {"Content-Type": "application/json; charset=utf-8"}
    payload: dict[str, Any]
    if destination.kind is ContactKind.WECOM:
        payload = {"msgtype": "markdown", "markdown": {"content": rendered.markdown()}}
    elif destination.kind is ContactKind.DINGTALK:
        payload = {
            "msgtype": "markdown",
            "markdown": {"title": rendered.title[:64], "text": rendered.markdown()},
        }
        if secret:
            stamp = str(int(time.time() * 1000))
            sign = quote_plus(dingtalk_sign(secret, stamp))
            url += f"{'&' if '?' in url else '?'}timestamp={stamp}&sign={sign}"
    elif destination.kind is ContactKind.FEISHU:
        payload = {"msg_type": "text", "content": {"text": rendered.text()}}
        if secret:
            stamp = str(int(time.time()))
            payload = {"timestamp": stamp, "sign": feishu_sign(secret, stamp), **payload}
    else:
        payload = {
            "version": 1,
            "event": facts.get("event"),
            "title": rendered.title,
            "text": rendered.text(),
            "link": rendered.link,
            "alert": {key: value for key, value in facts.items() if key != "event"},
        }
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    if destination.kind is ContactKind.WEBHOOK and secret:
        stamp = str(int(time.time()))
        headers["X-Yunfab-Timestamp"] = stamp
        headers["X-Yunfab-Signature"] = webhook_signature(secret, stamp, body)
    return url, body, headers


def _refusal(kind: ContactKind, content: bytes) -> str | None:
    """Robots answer 200 with an error code in the body (a wrong sign, a missing keyword)."""
    if kind not in OFFICIAL_HOSTS:
        return None
    try:
        answer = json.loads(content)
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
    if code in (0, None):
        return None
    return f"{kind.value} refused: {code} {answer.get('errmsg') or answer.get('msg') or ''}".strip()


async def _post(
    destination: Destination,
    facts: dict[str, Any],
    options: ChannelOptions,
    http: httpx.AsyncClient,
) -> tuple[int, str | None]:
    assert destination.url is not None
    await check_url(destination.url, destination.kind, development=options.development)
    url, body, headers = _request(destination, facts, render(facts, options))
    async with http.stream("POST", url, content=body, headers=headers) as response:
        content = b""
        async for chunk in response.aiter_bytes():
            content += chunk
            if len(content) >= MAX_RESPONSE_BYTES:
                break
    if not response.is_success:
        return response.status_code, f"HTTP {response.status_code}: {content[:200]!r}"
    return response.status_code, _refusal(destination.kind, content)


async def _mail(destination: Destination, facts: dict[str, Any], options: ChannelOptions) -> None:
    smtp = options.smtp
    if smtp is None:
        raise RuntimeError("no SMTP server is configured on this node (alert_smtp_host)")
    rendered = render(facts, options)
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = ", ".join(destination.recipients)
    message["Subject"] = rendered.title
    message.set_content(rendered.text())
    password = smtp.password_file.read_text().strip() if smtp.password_file else None
    await aiosmtplib.send(
        message,
        hostname=smtp.host,
        port=smtp.port,
        start_tls=smtp.starttls,
        username=smtp.username,
        password=password,
        timeout=options.timeout_s,
    )


async def send(
    destination: Destination,
    facts: dict[str, Any],
    options: ChannelOptions,
    http: httpx.AsyncClient,
) -> Outcome:
    """One attempt, within the options' timeout; failures come back as an Outcome."""
    started = time.monotonic()
    status: int | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(options.timeout_s):
            if destination.kind is ContactKind.EMAIL:
                await _mail(destination, facts, options)
            else:
                status, error = await _post(destination, facts, options, http)
    except TimeoutError:
        error = f"timed out after {options.timeout_s:g} s"
    except (httpx.HTTPError, aiosmtplib.SMTPException, OSError, RuntimeError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    except InvalidInput as exc:
        error = str(exc)
    except Exception as exc:  # an attempt that fails in an unforeseen way is still an attempt
        error = f"{type(exc).__name__}: {exc}"
    duration_ms = int((time.monotonic() - started) * 1000)
    return Outcome(ok=error is None, status_code=status, error=error and error[:500],
                   duration_ms=duration_ms)  # fmt: skip
