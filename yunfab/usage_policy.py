"""The data exchange's closed vocabularies: how a data product describes its fields, and the
usage-policy terms an offer may carry. Shared by the hub (which enforces them) and the nodes
(which publish products and offers).

Anything outside these vocabularies is refused when it is published, with the reason: a term
the hub does not know is a term it could not enforce.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import math
import re
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from yunfab.settings import Region, Slug

FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_FIELDS = 64
MAX_SAMPLE_ROWS = 5
MAX_STRING = 2000
MAX_LIST = 200


class FieldType(enum.StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    STRING_LIST = "string_list"


class FieldRole(enum.StrEnum):
    DIMENSION = "dimension"
    """Group and filter by it."""
    MEASURE = "measure"
    """A number that is aggregated."""
    CONTRIBUTOR = "contributor"
    """Who contributed the row (a factory): counted for the k-threshold, never shown in
    aggregates."""
    REGION = "region"
    """The row's region code, for row-level region terms."""
    ATTRIBUTE = "attribute"


class Purpose(enum.StrEnum):
    CAPACITY_PLANNING = "capacity-planning"
    SUPPLY_MATCHING = "supply-matching"
    SUPPLIER_SELECTION = "supplier-selection"
    CREDIT_ASSESSMENT = "credit-assessment"
    QUALITY_IMPROVEMENT = "quality-improvement"
    RESEARCH = "research"
    PUBLIC_INFORMATION = "public-information"


ORG_KINDS = ("consumer", "publisher", "node_operator", "factory", "hub_operator")


class Frequency(enum.StrEnum):
    REALTIME = "realtime"
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Strict):
    name: str = Field(pattern=FIELD_NAME.pattern)
    type: FieldType
    role: FieldRole = FieldRole.ATTRIBUTE
    description: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _measures_are_numbers(self) -> FieldSpec:
        if self.role is FieldRole.MEASURE and self.type not in (
            FieldType.INTEGER,
            FieldType.NUMBER,
        ):
            raise ValueError(f"measure {self.name!r} must be an integer or a number")
        if self.role is FieldRole.REGION and self.type is not FieldType.STRING:
            raise ValueError(f"region field {self.name!r} must be a string")
        return self


class Consumers(_Strict):
    organizations: list[str] = Field(default_factory=list, max_length=MAX_LIST)
    kinds: list[Literal["consumer", "publisher", "node_operator", "factory", "hub_operator"]] = (
        Field(default_factory=list, max_length=len(ORG_KINDS))
    )

    @model_validator(mode="after")
    def _someone(self) -> Consumers:
        if not self.organizations and not self.kinds:
            raise ValueError("consumers: name organizations or kinds (or both)")
        return self


class Aggregation(_Strict):
    min_contributors: int = Field(ge=2, le=1000)


class UsagePolicy(_Strict):
    """An offer's terms. Every key is documented in docs/data_exchange.md."""

    consumers: Consumers
    purposes: list[Purpose] = Field(min_length=1, max_length=len(Purpose))
    regions: list[Region] | None = Field(default=None, min_length=1, max_length=MAX_LIST)
    fields: list[str] | None = Field(default=None, min_length=1, max_length=MAX_FIELDS)
    aggregation: Aggregation | None = None
    retention_days: int = Field(ge=0, le=3650)
    contract_days: int = Field(ge=1, le=3650)
    expires_at: AwareDatetime | None = None
    onward_sharing: bool = False
    fresh_data: bool = False
    approval: Literal["automatic", "provider"] = "provider"

    def document(self) -> dict[str, Any]:
        """The policy as stored and hashed: JSON, keys in a fixed order."""
        return self.model_dump(mode="json")

    def check_against(self, fields: list[FieldSpec]) -> None:
        """Terms that name fields must name the product's own, and aggregation needs someone
        to count."""
        names = {f.name for f in fields}
        unknown = sorted(set(self.fields or []) - names)
        if unknown:
            raise ValueError(f"fields: not in the product's schema: {', '.join(unknown)}")
        roles = {f.role for f in fields}
        if self.aggregation is not None and FieldRole.CONTRIBUTOR not in roles:
            raise ValueError("aggregation: the product has no contributor field to count")


def canonical_hash(document: Any) -> str:
    """SHA-256 of a JSON document with sorted keys and no spaces: what terms are hashed as."""
    body = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


class ProductDefinition(_Strict):
    """What a publisher declares about a product (PUT /api/v1/data-products/{key})."""

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    region: Region
    industry: Slug
    update_frequency: Frequency
    fields: list[FieldSpec] = Field(alias="schema", min_length=1, max_length=MAX_FIELDS)
    sample: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_SAMPLE_ROWS)
    live: bool = False
    offers: list[UsagePolicy] = Field(default_factory=list, max_length=20)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _consistent(self) -> ProductDefinition:
        names = [f.name for f in self.fields]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"schema: fields named twice: {', '.join(duplicated)}")
        for role in (FieldRole.CONTRIBUTOR, FieldRole.REGION):
            if sum(1 for f in self.fields if f.role is role) > 1:
                raise ValueError(f"schema: at most one {role.value} field")
        for index, row in enumerate(self.sample):
            try:
                validate_row(self.fields, row)
            except ValueError as exc:
                raise ValueError(f"sample row {index}: {exc}") from exc
        for index, offer in enumerate(self.offers):
            try:
                offer.check_against(self.fields)
            except ValueError as exc:
                raise ValueError(f"offer {index}: {exc}") from exc
        return self


def _valid_value(spec: FieldSpec, value: Any) -> bool:
    kind = spec.type
    if kind is FieldType.STRING:
        return isinstance(value, str) and len(value) <= MAX_STRING
    if kind is FieldType.INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is FieldType.NUMBER:
        return (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        )
    if kind is FieldType.BOOLEAN:
        return isinstance(value, bool)
    if kind is FieldType.DATE:
        if not isinstance(value, str):
            return False
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return False
        return len(value) == 10
    return (
        isinstance(value, list)
        and len(value) <= MAX_LIST
        and all(isinstance(item, str) and len(item) <= MAX_STRING for item in value)
    )


def validate_row(fields: list[FieldSpec], row: Any) -> None:
    """A row is an object with only the schema's fields, each null or of its type."""
    if not isinstance(row, dict):
        raise ValueError("a row must be an object")
    by_name = {f.name: f for f in fields}
    unknown = sorted(set(row) - set(by_name))
    if unknown:
        raise ValueError(f"fields not in the schema: {', '.join(unknown[:5])}")
    for name, value in row.items():
        spec = by_name[name]
        if value is not None and not _valid_value(spec, value):
            raise ValueError(f"{name}: expected {spec.type.value}, got {value!r:.60}")


def field_of_role(fields: list[FieldSpec], role: FieldRole) -> FieldSpec | None:
    return next((f for f in fields if f.role is role), None)
