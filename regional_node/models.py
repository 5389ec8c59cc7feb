"""Every node model, imported so that `Base.metadata` is complete for alembic and tests."""

from regional_node.db import Base
from regional_node.factories.models import Factory
from regional_node.identity.models import NodeIdentity

__all__ = ["Base", "Factory", "NodeIdentity"]
