from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from yunfab.db import new_metadata


class Base(DeclarativeBase):
    """Declarative base of the hub's own tables (its migration tree is `hub/migrations`)."""

    metadata = new_metadata()
