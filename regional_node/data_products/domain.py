"""Data products: the node's data the hub's exchange offers, published while the link is up."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from regional_node.data_products import api, models
from regional_node.data_products.graphql import DataProductQuery
from regional_node.data_products.products import ProducerContext, configured
from regional_node.data_products.publisher import DataPublisher
from regional_node.state import NodeDomain, NodeState, NodeTask


def publish(state: NodeState) -> Coroutine[Any, Any, None] | None:
    """None when the node publishes no products."""
    settings = state.settings
    products = configured(settings.data_products)
    if not products:
        return None
    state.data_publisher = DataPublisher(
        client=state.hub_link.client,
        sessionmaker=state.db.sessionmaker,
        products=products,
        context=lambda: ProducerContext.of(settings),
    )
    return state.data_publisher.run(state.hub_link, settings.data_publish_interval_s)


DOMAIN = NodeDomain(
    name="data_products",
    models=(models,),
    routers=(api.router,),
    queries=(DataProductQuery,),
    tasks=(NodeTask("data-products", publish, singleton=True),),
)
