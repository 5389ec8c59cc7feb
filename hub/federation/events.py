from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from hub.federation.models import RegionalNode
from yunfab.events import Broadcaster


class NodeEventKind(enum.StrEnum):
    REGISTERED = "registered"
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True)
class NodeEvent:
    kind: NodeEventKind
    node: RegionalNode
    """Detached copy as committed; subscribers must not lazy-load from it."""
    at: dt.datetime


NodeEvents = Broadcaster[NodeEvent]
