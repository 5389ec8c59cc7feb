"""Every hub model, imported so that `Base.metadata` is complete for alembic and tests: the
`models` module of each domain, found in the package without importing the domains' GraphQL,
routers or libraries (each domain's `domain.py` names the same modules; tests/test_architecture.py
checks they agree)."""

import hub
from hub.db import Base
from yunfab.db import import_models

MODULES = import_models(hub)

__all__ = ["MODULES", "Base"]
