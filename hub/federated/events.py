"""What `federatedRunProgress` listens for: a run's row changed (started, a step recorded,
finished, failed). The row itself is read again by the subscriber, so the event carries only
the id, and crosses replicas (NATS) as it is."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from yunfab.events import Broadcaster


@dataclass(frozen=True)
class RunChanged:
    run_id: uuid.UUID


RunEvents = Broadcaster[RunChanged]
