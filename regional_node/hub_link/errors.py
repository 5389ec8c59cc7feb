"""The hub link's refusal, with its stable code."""

from __future__ import annotations

from yunfab.errors import Forbidden


class RawImageOutbound(Forbidden):
    """A hub-bound body carries picture data; nothing was sent."""

    code = "raw_image_outbound"
