"""The hub's runtime state: built by its lifespan, each domain's `start` filling in its part."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from starlette.applications import Starlette

from hub.audit.service import AuditLog
from hub.data_exchange.live import NodeRows
from hub.federated.events import RunEvents
from hub.federated.runner import FlowerRunner
from hub.federation.events import NodeEvents
from hub.identity.keys import KeyRing
from hub.identity.oauth import HubAuthorizationServer, OAuthStore
from hub.settings import HubSettings
from yunfab.domains import Domain, Task
from yunfab.event_bus import NatsEventBus
from yunfab.events import Broadcaster
from yunfab.jobs import InProcessJobs, NatsJobs
from yunfab.jobs.events import JobChanged
from yunfab.ratelimit import SharedFailureThrottle
from yunfab.revocations import RevocationSet
from yunfab.shared_state import Leases, SharedStates
from yunfab.state import ServiceState, state_of


@dataclass(kw_only=True)
class HubState(ServiceState):
    settings: HubSettings
    audit: AuditLog
    node_events: NodeEvents = field(default_factory=NodeEvents)
    run_events: RunEvents = field(default_factory=RunEvents)
    """Federated runs whose row changed (the runner publishes, wherever it runs)."""
    event_bus: NatsEventBus | None = None
    """NATS, when the hub runs as several replicas: the events above reach every replica."""
    jobs: InProcessJobs | NatsJobs = field(default_factory=InProcessJobs)
    """Where long work is queued: a task of this process, or NATS for `yunfab hub worker`."""
    job_events: Broadcaster[JobChanged] = field(default_factory=Broadcaster)
    """Jobs taken, retried and finished, wherever they ran (`jobProgress`)."""
    # identity
    keyring: KeyRing = field(init=False)
    revocations: RevocationSet = field(init=False)
    shared_state: SharedStates = field(init=False)
    """Buckets the hub's replicas share (in this process unless `nats_url` is set)."""
    leases: Leases | None = None
    """The once-per-hub tasks' leases in the shared state (NATS): each such task runs in one
    replica at a time. None (embedded): they run in this process, the only one."""
    throttle: SharedFailureThrottle = field(init=False)
    oauth_checks: ThreadPoolExecutor = field(init=False)
    """Introspection and revocation check client secrets on these few threads."""
    oauth_store: OAuthStore = field(init=False)
    oauth: HubAuthorizationServer = field(init=False)
    # data exchange, federated learning
    data_live: NodeRows = field(init=False)
    federated_runner: FlowerRunner = field(init=False)


HubDomain = Domain[HubState, HubSettings]
HubTask = Task[HubState]


def hub_state(app: Starlette) -> HubState:
    return state_of(app, HubState)
