"""The federated-learning domain's refusals on the hub (runs, the model registry, the Flower
side), each with a stable code."""

from __future__ import annotations

from yunfab.errors import NotFound, ServiceUnavailable


class FederatedUnavailable(ServiceUnavailable):
    code = "federated_unavailable"


class RunNotFound(NotFound):
    code = "federated_run_not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"
