"""The demand domain's refusals (products, SKUs, sales, forecasts, proposals), each with a
stable code."""

from __future__ import annotations

from yunfab.errors import Conflict, InvalidInput, NotFound, ServiceUnavailable


class ProductNotFound(NotFound):
    code = "product_not_found"


class SkuNotFound(NotFound):
    code = "sku_not_found"


class ProductInvalid(InvalidInput):
    """A product's options, routing changes or bill of materials do not hold together."""

    code = "product_invalid"


class ProductInUse(Conflict):
    """A product or SKU with sales, forecasts or proposals is kept: history points at it."""

    code = "product_in_use"


class SalesInvalid(InvalidInput):
    """A sales upload was refused as a whole; `problems` names each row and column."""

    code = "sales_invalid"


class FeedNotFound(NotFound):
    code = "sales_feed_not_found"


class FeedRefused(Conflict):
    """The hub would not give the feed's rows (agreement ended, not finalized, hub down):
    the message carries the hub's reason and its code."""

    code = "sales_feed_refused"


class ForecastNotFound(NotFound):
    code = "forecast_not_found"


class NotEnoughHistory(InvalidInput):
    code = "not_enough_history"


class TooManySeries(InvalidInput):
    code = "too_many_series"


class ForecastFailed(InvalidInput):
    """The forecaster refused the brand's history; the message says why."""

    code = "forecast_failed"


class ForecasterBusy(ServiceUnavailable):
    """Forecasts already queued on this node: try again in a minute."""

    code = "forecaster_busy"


class ProposalNotFound(NotFound):
    code = "proposal_not_found"


class ProposalClosed(Conflict):
    """The proposal was accepted, rejected or replaced by a newer plan."""

    code = "proposal_closed"
