"""Vision: stations, inspection models, quality records and training."""

from __future__ import annotations

from regional_node.state import NodeDomain
from regional_node.vision import api, models
from regional_node.vision.graphql import VisionMutation, VisionQuery, VisionSubscription

DOMAIN = NodeDomain(
    name="vision",
    models=(models,),
    routers=(api.router,),
    queries=(VisionQuery,),
    mutations=(VisionMutation,),
    subscriptions=(VisionSubscription,),
    body_limits=api.body_limits,
)
