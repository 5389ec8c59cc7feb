"""`service_input`: a service's input dataclass from a Strawberry input, field by field of the
same name, with explicit overrides, defaults kept, and a loud refusal when a required field
would be dropped."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import pytest
import strawberry

from yunfab.graphql.resolvers import service_input


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class NewThing:
    name: str
    colour: str
    size: int | None = None
    note: str = ""
    tags: list[str] = field(default_factory=list)


@strawberry.input
class ThingInput:
    name: str
    colour: Colour
    size: int | None = None
    tags: list[str] | None = None
    extra: str = "not a field of NewThing"


@strawberry.input
class NamelessInput:
    colour: Colour


def test_copies_same_named_fields_and_applies_overrides() -> None:
    given = ThingInput(name="press", colour=Colour.BLUE, size=3, tags=["a"])
    built = service_input(NewThing, given, colour=given.colour.value)
    assert built == NewThing(name="press", colour="blue", size=3, note="", tags=["a"])


def test_none_and_unset_pass_through_as_given() -> None:
    assert service_input(NewThing, ThingInput(name="x", colour=Colour.RED), colour="r").size is None
    unset = ThingInput(name="x", colour=Colour.RED, size=strawberry.UNSET)
    assert service_input(NewThing, unset, colour="r").size is strawberry.UNSET


def test_keeps_defaults_of_fields_the_input_lacks() -> None:
    built = service_input(NewThing, ThingInput(name="x", colour=Colour.RED), colour="r")
    assert built.note == ""
    assert built.tags is None  # the input has `tags`: its None is copied, not the default
    fresh = service_input(NewThing, NamelessInput(colour=Colour.RED), name="n", colour="r")
    assert fresh == NewThing(name="n", colour="r")


def test_refuses_a_required_field_neither_given_nor_overridden() -> None:
    with pytest.raises(TypeError, match=r"NewThing\.name is not on NamelessInput"):
        service_input(NewThing, NamelessInput(colour=Colour.RED), colour="r")


def test_refuses_an_override_that_names_no_field() -> None:
    with pytest.raises(TypeError, match="has no field colour_name"):
        service_input(
            NewThing, ThingInput(name="x", colour=Colour.RED), colour="r", colour_name="r"
        )


def test_refuses_what_is_not_a_dataclass() -> None:
    with pytest.raises(TypeError, match="must be dataclasses"):
        service_input(NewThing, {"name": "x", "colour": "r"})
