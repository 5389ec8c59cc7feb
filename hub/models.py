"""Every hub model, imported so that `Base.metadata` is complete for alembic and tests: each
domain lists the modules declaring its tables."""

from hub.db import Base
from hub.domains import DOMAINS

MODULES = tuple(module for domain in DOMAINS for module in domain.models)

__all__ = ["MODULES", "Base"]
