"""Alerts: rules, the alerts they raise, stale-data checks and notification delivery."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from regional_node.alerts import models
from regional_node.alerts.delivery import NotificationWorker
from regional_node.alerts.graphql.schema import AlertMutation, AlertQuery, AlertSubscription
from regional_node.alerts.notifications import NotificationConfig
from regional_node.state import NodeDomain, NodeState, NodeTask


def stale_checks(state: NodeState) -> Coroutine[Any, Any, None]:
    return state.runtime.alerts.run_stale_checks(state.settings.stale_check_interval_s)


def delivery(state: NodeState) -> Coroutine[Any, Any, None]:
    """The worker that sends alert notifications from the outbox; the engine wakes it."""
    worker = NotificationWorker(state.db.sessionmaker, NotificationConfig.of(state.settings))
    state.runtime.alerts.use_notifications(worker.config.channel.zone, worker.wake)
    return worker.run()


DOMAIN = NodeDomain(
    name="alerts",
    models=(models,),
    queries=(AlertQuery,),
    mutations=(AlertMutation,),
    subscriptions=(AlertSubscription,),
    tasks=(
        NodeTask("stale-alerts", stale_checks, singleton=True),
        NodeTask("alert-delivery", delivery, singleton=True),
    ),
)
