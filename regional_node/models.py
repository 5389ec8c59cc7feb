"""Every node model, imported so that `Base.metadata` is complete for alembic and tests."""

from regional_node.alerts.models import Alert, AlertRule
from regional_node.audit.models import AuditEntry, AuditHead
from regional_node.data_products.models import PendingBatch, ProductStream, QueuedRow
from regional_node.db import Base
from regional_node.devices.models import Device, DeviceMetric
from regional_node.factories.models import CapacityDay, Equipment, Factory
from regional_node.identity.models import NodeIdentity
from regional_node.market.models import Installation, TrustKey
from regional_node.orders.models import (
    Breakdown,
    FactorySchedule,
    Order,
    OrderPlan,
    PlanAllocation,
    ProgressEvent,
    Routing,
    WorkOrder,
)
from regional_node.telemetry.models import (
    DeadLetter,
    DirtyRange,
    HourRollup,
    MinuteRollup,
    Reading,
    SparkplugBirth,
)
from regional_node.vision.models import InspectionModel, QualityRecord, Station

__all__ = [
    "Alert",
    "AlertRule",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Breakdown",
    "CapacityDay",
    "DeadLetter",
    "Device",
    "DeviceMetric",
    "DirtyRange",
    "Equipment",
    "Factory",
    "FactorySchedule",
    "HourRollup",
    "InspectionModel",
    "Installation",
    "MinuteRollup",
    "NodeIdentity",
    "Order",
    "OrderPlan",
    "PendingBatch",
    "PlanAllocation",
    "ProductStream",
    "ProgressEvent",
    "QualityRecord",
    "QueuedRow",
    "Reading",
    "Routing",
    "SparkplugBirth",
    "Station",
    "TrustKey",
    "WorkOrder",
]
