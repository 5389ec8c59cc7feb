"""Every hub model, imported so that `Base.metadata` is complete for alembic and tests."""

from hub.db import Base
from hub.federation.models import RegionalNode
from hub.organizations.models import Organization

__all__ = ["Base", "Organization", "RegionalNode"]
