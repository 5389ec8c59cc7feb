"""Every node model, imported so that `Base.metadata` is complete for alembic and tests: the
`models` module of each domain, found in the package without importing the domains' GraphQL,
routers or libraries (each domain's `domain.py` names the same modules; tests/test_architecture.py
checks they agree)."""

import regional_node
from regional_node.db import Base
from regional_node.telemetry.partitions import is_partition_table as is_unmanaged_table
from yunfab.db import import_models

MODULES = import_models(regional_node)

__all__ = ["MODULES", "Base", "is_unmanaged_table"]
