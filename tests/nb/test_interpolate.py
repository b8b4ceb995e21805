"""Prompt interpolation: `{name}` from the namespace, exactly once; clear errors otherwise."""

from __future__ import annotations

import pytest

from llmpipe_nb import ConfigError
from llmpipe_nb.nb.interpolate import fill

NS = {
    "topic": "sharks",
    "items": ["a", "b"],
    "user": type("U", (), {"name": "Ada"})(),
    "n": 3.14159,
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("About {topic}.", "About sharks."),
        ("{items[1]} and {user.name}", "b and Ada"),
        ("{topic!r} {n:.2f}", "'sharks' 3.14"),
        ("literal {{topic}} and {{ }}", "literal {topic} and { }"),
        ("no placeholders", "no placeholders"),
    ],
    ids=["name", "index-attr", "conversion-spec", "escaped", "plain"],
)
def test_fill(template, expected):
    assert fill(template, NS) == expected


def test_values_are_not_parsed_again():
    assert fill("x {v} y", {"v": "{topic} {{ }"}) == "x {topic} {{ } y"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{missing}", "The prompt uses {missing}, but no variable 'missing' is defined"),
        ("{}", "The prompt has {}, which is not a variable name"),
        ("{0}", "The prompt has {0}, which is not a variable name"),
        ('{"a": 1}', 'The prompt has {"a"}, which is not a variable name'),
        ("{topic", "unmatched brace"),
        ("topic}", "unmatched brace"),
        ("{user.age}", "could not be filled (AttributeError"),
        ("{items[5]}", "could not be filled (IndexError"),
    ],
)
def test_errors_say_what_to_do(template, message):
    with pytest.raises(ConfigError, match="--no-interpolate") as info:
        fill(template, NS)
    assert message in str(info.value)
