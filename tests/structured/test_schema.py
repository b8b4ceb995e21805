"""The schema module on its own: types to JSON Schema, provider dialects, reading answers back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import uuid
from typing import Annotated, Any, Literal, TypedDict

import pytest
from pydantic import BaseModel, Field

from llmpipe_nb.errors import ConfigError, ResponseFormatError, SchemaValidationError
from llmpipe_nb.structured import Schema, check, example_of, json_schema_of, parse_as
from llmpipe_nb.structured.dialects import for_dialect


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Line:
    """One line of an invoice."""

    item: str
    qty: int = 1
    color: Color | None = None


@dataclasses.dataclass
class Invoice:
    vendor: str
    lines: list[Line]
    currency: Literal["EUR", "USD"] = "EUR"
    note: Annotated[str, "anything the vendor wrote"] = ""


class Person(TypedDict, total=False):
    name: str
    age: int


class Order(BaseModel):
    id: int
    total: float = Field(ge=0)
    tags: list[str] = []


@dataclasses.dataclass
class Node:
    label: str
    children: list[Node] = dataclasses.field(default_factory=list)


# -- types to JSON Schema --------------------------------------------------------------------


def test_a_dataclass_becomes_an_object_with_nested_types_defaults_and_descriptions():
    schema = json_schema_of(Invoice)
    assert schema["title"] == "Invoice" and schema["required"] == ["vendor", "lines"]
    props = schema["properties"]
    assert props["vendor"] == {"type": "string"}
    assert props["currency"] == {"type": "string", "enum": ["EUR", "USD"], "default": "EUR"}
    assert props["note"] == {
        "type": "string",
        "description": "anything the vendor wrote",
        "default": "",
    }
    line = props["lines"]["items"]
    assert line["description"] == "One line of an invoice." and line["required"] == ["item"]
    assert line["properties"]["color"] == {
        "title": "Color",
        "type": ["string", "null"],
        "enum": ["red", "blue", None],
        "default": None,
    }


def test_typeddict_pydantic_dicts_tuples_dates_and_recursion():
    assert json_schema_of(Person)["required"] == []
    assert json_schema_of(Order) == Order.model_json_schema()
    assert json_schema_of(dict[str, int]) == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
    }
    assert json_schema_of(tuple[int, str])["prefixItems"] == [
        {"type": "integer"},
        {"type": "string"},
    ]
    assert json_schema_of(dt.date) == {"type": "string", "format": "date"}
    node = json_schema_of(Node)
    assert node["properties"]["children"]["items"] == {"$ref": "#"}
    wrapped = json_schema_of(list[Node])
    assert (
        wrapped["items"] == {"$ref": "#/$defs/Node"}
        and "children" in wrapped["$defs"]["Node"]["properties"]
    )


@pytest.mark.parametrize(
    "spec, match",
    [(42, "not 42"), (dict[int, str], "keyed by int"), (set[object()], "cannot express")],  # type: ignore[misc]
    ids=["not-a-type", "int-keys", "odd-type"],
)
def test_what_json_cannot_express_is_a_config_error(spec, match):
    with pytest.raises(ConfigError, match=match):
        Schema(spec)


def test_a_type_that_is_not_an_object_is_wrapped_and_unwrapped():
    assert Schema(list[Line]).wrap == "items" and Schema(Color).wrap == "value"
    assert Schema(Literal["yes", "no"]).name == "choice" and Schema(list[Line]).name == "Line_list"
    assert parse_as(list[int], '{"items": [1, 2]}') == [1, 2]
    assert parse_as(Color, '{"value": "blue"}') is Color.BLUE
    assert parse_as(list[int], "[3]") == [3]  # the bare value is taken too


# -- dialects --------------------------------------------------------------------------------


def test_openai_strict_closes_objects_requires_every_field_and_makes_optional_ones_nullable():
    schema, strict = for_dialect(json_schema_of(Invoice), "openai")
    assert strict
    assert schema["additionalProperties"] is False and schema["required"] == [
        "vendor",
        "lines",
        "currency",
        "note",
    ]
    assert schema["properties"]["currency"] == {
        "type": ["string", "null"],
        "enum": ["EUR", "USD", None],
        "description": '(default: "EUR")',
    }
    line = schema["properties"]["lines"]["items"]
    assert line["additionalProperties"] is False and line["properties"]["qty"]["type"] == [
        "integer",
        "null",
    ]


def test_keywords_a_dialect_lacks_move_into_the_description():
    rich = {
        "type": "object",
        "properties": {
            "code": {"type": "string", "minLength": 3, "const": "abc"},
            "n": {"type": "integer", "minimum": 1},
        },
        "required": ["code", "n"],
    }
    openai, _ = for_dialect(rich, "openai")
    assert openai["properties"]["code"] == {
        "type": "string",
        "const": "abc",
        "description": "(minLength: 3)",
    }
    anthropic, _ = for_dialect(rich, "anthropic")
    assert anthropic["properties"]["n"] == {"type": "integer", "description": "(minimum: 1)"}
    assert anthropic["additionalProperties"] is False and anthropic["required"] == ["code", "n"]
    gemini, _ = for_dialect(rich, "gemini")
    assert gemini["properties"]["code"]["enum"] == ["abc"] and "additionalProperties" not in gemini
    assert gemini["propertyOrdering"] == ["code", "n"]
    assert for_dialect(rich, "json") == (rich, False)


def test_an_open_map_cannot_be_strict():
    _, strict = for_dialect(json_schema_of(dict[str, int]), "openai")
    assert strict is False
    assert "strict" not in Schema(dict[str, int]).response_format()["json_schema"]


# -- reading answers -------------------------------------------------------------------------


def test_answers_are_read_back_as_the_type_with_defaults_for_strict_nulls():
    text = json.dumps(
        {
            "vendor": "ACME",
            "lines": [
                {"item": "bolt", "qty": 3, "color": "red"},
                {"item": "nut", "qty": None, "color": None},
            ],
            "currency": None,
            "note": None,
        }
    )
    invoice = parse_as(Invoice, text)
    assert invoice == Invoice("ACME", [Line("bolt", 3, Color.RED), Line("nut")], "EUR", "")
    assert parse_as(Order, '{"id": 1, "total": 2, "tags": null}') == Order(id=1, total=2.0)
    assert parse_as(Person, '{"name": "Ada", "age": null}') == {"name": "Ada"}
    assert parse_as(uuid.UUID, f'{{"value": "{uuid.UUID(int=5)}"}}') == uuid.UUID(int=5)


@pytest.mark.parametrize(
    "text, path, reason",
    [
        ("I think it is ACME", "the answer", "not JSON"),
        ('{"lines": []}', "vendor", "required field is missing"),
        (
            '{"vendor": "A", "lines": [{"item": "x", "qty": "two"}]}',
            "lines[0].qty",
            "expected an integer",
        ),
        (
            '{"vendor": "A", "lines": [], "currency": "GBP"}',
            "currency",
            "'GBP' is not one of 'EUR', 'USD'",
        ),
        (
            '{"vendor": "A", "lines": [{"item": "x", "color": "green"}]}',
            "lines[0].color",
            "'green'",
        ),
    ],
    ids=["not-json", "missing", "wrong-type", "wrong-enum", "nested-enum"],
)
def test_a_misfit_names_the_path_the_reason_and_keeps_the_raw_text(text, path, reason):
    with pytest.raises(SchemaValidationError) as caught:
        parse_as(Invoice, text)
    error = caught.value
    assert isinstance(error, ResponseFormatError)
    assert error.path == path and reason in error.reason and error.raw == text
    assert error.schema == "Invoice" and path in str(error).lower() and "repair=" in str(error)


def test_a_fenced_answer_or_one_after_prose_is_read_through():
    answer = '{"id": 7, "total": 1.5}'
    assert parse_as(Order, f"```json\n{answer}\n```").id == 7
    assert parse_as(Order, f"Here it is: {answer}").id == 7
    with pytest.raises(SchemaValidationError) as caught:
        parse_as(Order, '```json\n{"id": 7, "total": -1}\n```')
    assert caught.value.path == "total" and "greater than or equal to 0" in caught.value.reason


def test_pydantic_validators_run_and_their_location_becomes_the_path():
    with pytest.raises(SchemaValidationError) as caught:
        parse_as(list[Order], '{"items": [{"id": 1, "total": 1}, {"id": "x", "total": 1}]}')
    assert caught.value.path == "[1].id"


def test_a_json_schema_dict_is_checked_as_written():
    schema = {
        "type": "object",
        "properties": {"tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2}},
        "required": ["tags"],
        "additionalProperties": False,
    }
    assert parse_as(schema, '{"tags": ["a"]}') == {"tags": ["a"]}
    for text, path in (
        ('{"tags": ["a", "b", "c"]}', "tags"),
        ('{"tags": [1]}', "tags[0]"),
        ('{"tags": [], "x": 1}', "x"),
    ):
        with pytest.raises(SchemaValidationError) as caught:
            parse_as(schema, text)
        assert caught.value.path == path


@pytest.mark.parametrize(
    "spec", [Invoice, Person, Order, Node, list[Line], Color, dict[str, int], int]
)
def test_the_example_instance_is_valid_and_deterministic(spec):
    schema = Schema(spec)
    value = example_of(schema.json_schema, "Extract: ACME sold 3 bolts")
    assert value == example_of(schema.json_schema, "Extract: ACME sold 3 bolts")
    check(schema.json_schema, value)
    schema.parse(json.dumps(value))


def test_the_example_borrows_numbers_and_enum_values_from_the_prompt():
    value = example_of(json_schema_of(Invoice), "ACME wants 12 USD")
    assert value["currency"] == "USD"
    assert example_of(json_schema_of(Line), "3 bolts")["qty"] == 3


def test_an_enum_value_is_named_only_as_a_word_of_its_own():
    schema = {"type": "string", "enum": ["C", "F"]}
    assert example_of(schema, "Paris in F please") == "F"
    assert example_of(schema, "Convert it, in F") == "F"  # not the c of "Convert"
    assert example_of(schema, "Convert it") == example_of(schema, "Convert it")


def test_importing_the_package_does_not_import_pydantic_and_dataclasses_work_without_it(
    fresh_python,
):
    code = (
        "import sys; sys.modules['pydantic'] = None\n"  # importing pydantic now fails
        "import dataclasses, llmpipe_nb as llm\n"
        "@dataclasses.dataclass\nclass Point:\n    x: int\n    y: int = 0\n"
        "reply = llm.chat('mock', 'Point 3 4', schema=Point)\n"
        "print(type(reply.parsed).__name__, 'pydantic' in sys.modules and sys.modules['pydantic'] is not None)"
    )
    out = fresh_python(code)
    assert out.stdout.split() == ["Point", "False"]
    plain = fresh_python("import sys, llmpipe_nb; print('pydantic' in sys.modules)")
    assert plain.stdout.strip() == "False"


def test_answer_size_comes_from_the_schema():
    typical, most = Schema(Literal["yes", "no"]).answer_tokens()
    assert most is not None and typical <= most
    assert Schema(Invoice).answer_tokens()[1] is None  # free text has no ceiling


def test_an_unhashable_spec_is_built_each_time_and_a_type_once():
    assert Schema.of(Invoice) is Schema.of(Invoice)
    spec: dict[str, Any] = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert Schema.of(spec) is not Schema.of(spec)
