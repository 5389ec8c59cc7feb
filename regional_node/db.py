from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from yunfab.db import new_metadata


class Base(DeclarativeBase):
    """Declarative base of a node's tables (its migration tree is `regional_node/migrations`)."""

    metadata = new_metadata()
