"""The filter language of the DataFrame tools, read by a small parser into pandas masks.

A query is comparisons joined by `and`, `or`, `not` and parentheses:

    price > 10 and region in ["East", "West"]
    not (name contains "Ltd") or price is null

The left side of a comparison is a column (quoted, 'unit price', when it is not a plain
word), the right side a value: a number, a quoted string, true or false. The text is
never evaluated: the parser knows only this grammar, so calls, attributes, `@variables`
and backticks are a `QueryError` naming the problem, and masks are built from Series
methods alone. A comparison never matches a null; `is null` finds them.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

MAX_LENGTH = 4000
MAX_DEPTH = 50
KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null", "contains", "true", "false"})
_TOKEN = re.compile(
    r"""(?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?![\w.])
      |(?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      |(?P<word>[^\W\d]\w*)
      |(?P<op>==|!=|<=|>=|<|>)
      |(?P<punct>[()\[\],])""",
    re.VERBOSE,
)
_HINTS = {
    "=": "compare with ==",
    "&": "join conditions with and",
    "|": "join conditions with or",
    "!": "negate with not, or compare with !=",
    "~": "negate with not",
    "`": "quote a column name with ' or \"",
    "@": "there are no variables: write the value itself",
    ".": "there are no attributes or methods: compare a column with a value",
}
GRAMMAR = (
    "a query is comparisons (column ==, !=, <, <=, >, >= value; column in [v1, v2]; "
    "column is null; column is not null; column contains 'text') joined by and, or, not "
    "and parentheses"
)


class QueryError(ValueError):
    """A query or argument the model sent that does not fit the frame; it goes back to the model."""


@dataclasses.dataclass(frozen=True)
class Token:
    kind: str  # number, string, word, keyword, op, punct, end
    value: Any
    at: int

    def shown(self) -> str:
        return (
            "the end of the query" if self.kind == "end" else f"{self.text!r} at position {self.at}"
        )

    @property
    def text(self) -> str:
        return str(self.value)


@dataclasses.dataclass(frozen=True)
class Compare:
    column: str
    op: str
    value: Any


@dataclasses.dataclass(frozen=True)
class Member:
    column: str
    values: tuple[Any, ...]
    negated: bool


@dataclasses.dataclass(frozen=True)
class Null:
    column: str
    negated: bool


@dataclasses.dataclass(frozen=True)
class Contains:
    column: str
    text: str


@dataclasses.dataclass(frozen=True)
class Not:
    inner: Node


@dataclasses.dataclass(frozen=True)
class Both:
    parts: tuple[Node, ...]


@dataclasses.dataclass(frozen=True)
class Either:
    parts: tuple[Node, ...]


Node = Compare | Member | Null | Contains | Not | Both | Either


def tokens(text: str) -> list[Token]:
    """The query's tokens; QueryError at the first character outside the grammar."""
    found: list[Token] = []
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return [*found, Token("end", "", at)]
        match = _TOKEN.match(text, at)
        if match is None:
            raise QueryError(_unreadable(text, at))
        kind = match.lastgroup or ""
        raw = match.group()
        value: Any = raw
        if kind == "number":
            value = float(raw) if any(c in raw for c in ".eE") else int(raw)
        elif kind == "string":
            value = re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), raw[1:-1])
        elif kind == "word" and raw.lower() in KEYWORDS:
            kind, value = "keyword", raw.lower()
        found.append(Token(kind, value, at))
        at = match.end()


def _unreadable(text: str, at: int) -> str:
    char = text[at]
    if char in "'\"":
        return f"the string starting at position {at} is not closed with {char}"
    if char.isdigit() or (char == "-" and text[at + 1 : at + 2].isdigit()):
        word = re.match(r"[-\w.]+", text[at:])
        return f"{word.group() if word else char!r} at position {at} is not a number"
    hint = _HINTS.get(char, GRAMMAR)
    return f"unexpected {char!r} at position {at}: {hint}"


def parse(text: str) -> Node:
    """The query as a tree of conditions; QueryError if it is not in the grammar."""
    if not isinstance(text, str) or not text.strip():
        raise QueryError("the query is empty: write a condition such as price > 10")
    if len(text) > MAX_LENGTH:
        raise QueryError(f"the query is longer than {MAX_LENGTH} characters")
    return _Parser(tokens(text)).query()


class _Parser:
    def __init__(self, found: list[Token]) -> None:
        self.found, self.at, self.depth = found, 0, 0

    def peek(self) -> Token:
        return self.found[self.at]

    def take(self) -> Token:
        token = self.found[self.at]
        self.at = min(self.at + 1, len(self.found) - 1)
        return token

    def accept(self, kind: str, value: str) -> bool:
        token = self.peek()
        if token.kind == kind and token.value == value:
            self.take()
            return True
        return False

    def expect(self, kind: str, value: str, what: str) -> None:
        if not self.accept(kind, value):
            raise QueryError(f"expected {what}, found {self.peek().shown()}")

    def query(self) -> Node:
        node = self.either()
        if self.peek().kind != "end":
            raise QueryError(f"unexpected {self.peek().shown()}: join conditions with and / or")
        return node

    def either(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(f"the query nests deeper than {MAX_DEPTH} levels")
        parts = [self.both()]
        while self.accept("keyword", "or"):
            parts.append(self.both())
        self.depth -= 1
        return parts[0] if len(parts) == 1 else Either(tuple(parts))

    def both(self) -> Node:
        parts = [self.negation()]
        while self.accept("keyword", "and"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else Both(tuple(parts))

    def negation(self) -> Node:
        if self.accept("keyword", "not"):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QueryError(f"the query nests deeper than {MAX_DEPTH} levels")
            inner = self.negation()
            self.depth -= 1
            return Not(inner)
        if self.accept("punct", "("):
            node = self.either()
            self.expect("punct", ")", "')' to close the '('")
            return node
        return self.condition()

    def condition(self) -> Node:
        token = self.take()
        if token.kind not in ("word", "string"):
            raise QueryError(f"expected a column name, found {token.shown()}: {GRAMMAR}")
        column = token.text
        token = self.take()
        if token.kind == "op":
            return Compare(column, token.text, self.value())
        if token.kind == "keyword" and token.value == "in":
            return Member(column, self.values(), False)
        if token.kind == "keyword" and token.value == "not":
            self.expect("keyword", "in", "'in' after 'not' (column not in [...])")
            return Member(column, self.values(), True)
        if token.kind == "keyword" and token.value == "is":
            negated = self.accept("keyword", "not")
            self.expect("keyword", "null", "null after 'is' (is null, is not null)")
            return Null(column, negated)
        if token.kind == "keyword" and token.value == "contains":
            text = self.take()
            if text.kind != "string":
                raise QueryError(f"contains needs quoted text, found {text.shown()}")
            return Contains(column, text.value)
        raise QueryError(
            f"expected ==, !=, <, <=, >, >=, in, is null or contains after column "
            f"{column!r}, found {token.shown()}"
        )

    def value(self) -> Any:
        token = self.take()
        if token.kind in ("number", "string"):
            return token.value
        if token.kind == "keyword" and token.value in ("true", "false"):
            return token.value == "true"
        if token.kind == "keyword" and token.value == "null":
            raise QueryError("compare with null using 'is null' or 'is not null'")
        if token.kind == "word":
            raise QueryError(
                f"{token.text!r} at position {token.at} is not a value: quote text ('{token.text}'), "
                "or write a number, true or false"
            )
        raise QueryError(f"expected a value, found {token.shown()}")

    def values(self) -> tuple[Any, ...]:
        self.expect("punct", "[", "'[' to start the list of values")
        values = [self.value()]
        while self.accept("punct", ","):
            values.append(self.value())
        self.expect("punct", "]", "',' or ']' in the list of values")
        return tuple(values)
