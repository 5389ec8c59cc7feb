"""The node's audit log (the log itself is part of the node's state: the authorizer writes to it
from the first request); its trail for readers is the audit_trail read model."""

from __future__ import annotations

from regional_node.audit import models
from regional_node.state import NodeDomain

DOMAIN = NodeDomain(name="audit", models=(models,))
