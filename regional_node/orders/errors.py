"""The orders domain's refusals (routings, orders and work orders, schedules, chart links), each
with a stable code."""

from __future__ import annotations

from yunfab.errors import Conflict, Forbidden, InvalidInput, NotFound


class RoutingNotFound(NotFound):
    code = "routing_not_found"


class RoutingDisabled(Conflict):
    code = "routing_disabled"


class OrderNotFound(NotFound):
    code = "order_not_found"


class WorkOrderNotFound(NotFound):
    code = "work_order_not_found"


class OrderInfeasible(InvalidInput):
    """The order cannot be planned; `constraint` names what makes it so."""

    code = "order_infeasible"


class OrderClosed(Conflict):
    code = "order_closed"


class StageOutOfOrder(Conflict):
    code = "stage_out_of_order"


class RoutingInvalid(InvalidInput):
    code = "routing_invalid"


class ScheduleNotFound(NotFound):
    code = "schedule_not_found"


class ScheduleInvalid(InvalidInput):
    code = "schedule_invalid"


class ChartLinkRefused(Forbidden):
    code = "chart_link_refused"
