from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from regional_node.factories.models import Factory


@strawberry.type(name="Factory")
class FactoryType:
    id: uuid.UUID
    name: str
    created_at: dt.datetime
    model: strawberry.Private[Factory]

    @classmethod
    def from_model(cls, factory: Factory) -> FactoryType:
        return cls(id=factory.id, name=factory.name, created_at=factory.created_at, model=factory)
