"""Structured output: Python types as JSON Schema, answers read back as those types.

One place for the schema machinery every feature shares: `schema=` on chats, streams,
the builder, the magic and `llm.map`, and any feature that needs a JSON Schema from type
hints. Standard library only: a pydantic model is recognised by its methods, so
`import llmpipe_nb` never imports pydantic.
"""

from .example import example_of
from .partial import PartialJSON
from .schema import PRIVATE_KEY, Schema, parse_as
from .types import is_pydantic_model, is_record, json_schema_of, type_name
from .validate import Mismatch, check, coerce, format_path

__all__ = [
    "PRIVATE_KEY",
    "Mismatch",
    "PartialJSON",
    "Schema",
    "check",
    "coerce",
    "example_of",
    "format_path",
    "is_pydantic_model",
    "is_record",
    "json_schema_of",
    "parse_as",
    "type_name",
]
