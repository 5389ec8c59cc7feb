"""Policy decisions: every authorization question goes to Rego through a `PolicyEngine`."""

from yunfab.policy.engine import (
    EmbeddedEngine,
    OpaEngine,
    PolicyEngine,
    PolicyInput,
    create_engine,
)

__all__ = ["EmbeddedEngine", "OpaEngine", "PolicyEngine", "PolicyInput", "create_engine"]
