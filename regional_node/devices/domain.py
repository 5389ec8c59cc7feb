"""Devices, their metrics and credentials."""

from __future__ import annotations

from regional_node.devices import models
from regional_node.devices.graphql.mutations import DeviceMutation
from regional_node.devices.graphql.queries import DeviceQuery
from regional_node.state import NodeDomain

DOMAIN = NodeDomain(
    name="devices", models=(models,), queries=(DeviceQuery,), mutations=(DeviceMutation,)
)
