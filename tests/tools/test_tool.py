"""Tools from functions and Tool(...): the schema from the signature, and bad input refused."""

from __future__ import annotations

import dataclasses
import enum
from typing import Literal

import pytest

import llmpipe_nb as llm
from llmpipe_nb.errors import ConfigError
from llmpipe_nb.structured import Mismatch


class Unit(enum.Enum):
    C = "C"
    F = "F"


@dataclasses.dataclass
class Place:
    city: str
    country: str | None = None


def get_weather(place: Place, unit: Literal["C", "F"] = "C", days: int | None = None) -> dict:
    """Current weather for a place.

    Longer notes the model does not need.
    """
    return {}


def test_schema_from_signature_uses_the_structured_schema_code() -> None:
    tool = llm.Tool.of(get_weather)
    assert tool.name == "get_weather"
    assert tool.description == "Current weather for a place."
    props = tool.schema["properties"]
    assert tool.schema["required"] == ["place"]
    assert props["unit"] == {"type": "string", "enum": ["C", "F"], "default": "C"}
    assert props["place"]["properties"]["city"] == {"type": "string"}
    assert props["days"]["default"] is None
    assert tool.spec["parameters"] == dict(tool.schema)


def test_arguments_are_checked_and_read_back_as_the_hinted_types() -> None:
    def convert(unit: Unit, place: Place) -> str:
        """Convert."""
        return ""

    tool = llm.Tool.of(convert)
    args = tool.arguments({"unit": "F", "place": {"city": "Rome"}})
    assert args == {"unit": Unit.F, "place": Place("Rome")}
    with pytest.raises(Mismatch, match="unit"):
        tool.arguments({"unit": "K", "place": {"city": "Rome"}})
    with pytest.raises(Mismatch, match="not valid JSON"):
        tool.arguments('{"unit": ')


def test_explicit_tool_passes_json_through() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    tool = llm.Tool("search", "Search the notes.", schema, lambda q: q.upper())
    assert tool.arguments({"q": "x"}) == {"q": "x"}
    with pytest.raises(Mismatch):
        tool.arguments({})


def untyped(city, unit: str = "C") -> str:  # type: ignore[no-untyped-def]
    return city


@pytest.mark.parametrize(
    ("tools", "message"),
    [
        ([untyped], "argument 'city' has no type hint"),
        ([get_weather, get_weather], "Two tools are named 'get_weather'"),
        (["not a tool"], "is not a tool"),
        ([lambda: 1], "would be refused by the providers"),
    ],
)
def test_bad_tools_are_config_errors_before_anything_is_sent(served, tools, message) -> None:
    server, options = served("openai")
    with pytest.raises(ConfigError, match=message):
        llm.chat("openai", "hi", tools=tools, **options)
    with pytest.raises(ConfigError, match=message):
        llm.build("openai", "hi").with_tools(tools)
    assert server.requests == []


def test_bad_names_and_loop_options_are_refused() -> None:
    with pytest.raises(ConfigError, match="would be refused"):
        llm.Tool("has space", "", {"type": "object"}, print)
    with pytest.raises(ConfigError, match="type 'object'"):
        llm.Tool("ok", "", {"type": "string"}, print)
    with pytest.raises(ConfigError, match="option 'approve' must be one of"):
        llm.chat("mock", "hi", tools=[get_weather], approve="maybe")
    with pytest.raises(ConfigError, match="max_steps must be"):
        llm.chat("mock", "hi", tools=[get_weather], max_steps=0)
    with pytest.raises(ConfigError, match="cannot be run"):
        llm.chat("mock", "hi", tools=[get_weather, {"name": "x"}])
