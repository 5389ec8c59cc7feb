from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class OrderNotice:
    """Published after commit: an order's progress event `event_id` was recorded."""

    order_id: uuid.UUID
    event_id: uuid.UUID
