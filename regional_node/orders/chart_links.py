"""Short-lived signed links to a schedule's Gantt chart, for a browser's <img>.

An <img> cannot send a bearer header. GraphQL (`FactorySchedule.chartUrl`) hands a caller who
may read the schedule a link that carries its own proof instead: an HMAC-SHA256 over the
schedule, the picture's format, the expiry and the subject it was made for, with the node's
chart-link key. The link opens that one picture until it expires, for whoever holds it, like
any bearer credential; hence a lifetime of minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from regional_node.orders.errors import ChartLinkRefused

MAX_SUBJECT = 200


@dataclass(frozen=True)
class ChartLink:
    schedule_id: uuid.UUID
    fmt: str
    expires: int
    """Epoch seconds."""
    subject: str
    """Who it was made for (`Subject.label`): named in the signature, logged on use."""

    def message(self) -> bytes:
        parts = (str(self.schedule_id), self.fmt, str(self.expires), self.subject)
        return "\n".join(parts).encode()


def signature(key: bytes, link: ChartLink) -> str:
    digest = hmac.new(key, link.message(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def chart_url(key: bytes, link: ChartLink) -> str:
    """The REST path with the link's fields and signature as query parameters."""
    query = urlencode({"expires": link.expires, "sub": link.subject, "sig": signature(key, link)})
    return f"/api/v1/schedules/{link.schedule_id}/gantt.{link.fmt}?{query}"


def new_link(
    schedule_id: uuid.UUID, fmt: str, subject: str, *, ttl_s: int, now: float | None = None
) -> ChartLink:
    moment = time.time() if now is None else now
    return ChartLink(
        schedule_id=schedule_id,
        fmt=fmt,
        expires=int(moment) + ttl_s,
        subject=subject[:MAX_SUBJECT],
    )


def verify(key: bytes, link: ChartLink, given: str, *, now: float | None = None) -> None:
    """Refuse (403, with the reason) a link whose signature does not match or that expired.
    The signature is checked first and in constant time, so nothing about the link's fields
    is told to someone who forged them."""
    if not hmac.compare_digest(signature(key, link).encode(), given.encode()):
        raise ChartLinkRefused("chart link: the signature does not match (altered or forged)")
    if (time.time() if now is None else now) >= link.expires:
        raise ChartLinkRefused("chart link: expired; ask for a new chartUrl")
