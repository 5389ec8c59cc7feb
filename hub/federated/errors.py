"""The federated-learning domain's refusals on the hub (runs, the model registry, the Flower
side), each with a stable code."""

from __future__ import annotations

from yunfab.errors import InvalidInput, NotFound, ServiceUnavailable


class FederatedUnavailable(ServiceUnavailable):
    code = "federated_unavailable"


class RunNotFound(NotFound):
    code = "federated_run_not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class RunWithoutResults(InvalidInput):
    """A summary in which no node returned a training result: it makes no model."""

    code = "federated_run_without_results"
