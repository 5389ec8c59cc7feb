"""Orders, their plans and work orders, and the factories' schedules."""

from __future__ import annotations

from regional_node.orders import api, models
from regional_node.orders.graphql.schedules import ScheduleMutation, ScheduleQuery
from regional_node.orders.graphql.schema import OrderMutation, OrderQuery, OrderSubscription
from regional_node.state import NodeDomain

DOMAIN = NodeDomain(
    name="orders",
    models=(models,),
    routers=(api.router,),
    queries=(OrderQuery, ScheduleQuery),
    mutations=(OrderMutation, ScheduleMutation),
    subscriptions=(OrderSubscription,),
)
