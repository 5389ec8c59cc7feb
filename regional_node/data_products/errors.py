"""The node's data products' refusal, with its stable code."""

from __future__ import annotations

from yunfab.errors import NotFound


class DataProductNotFound(NotFound):
    code = "data_product_not_found"
