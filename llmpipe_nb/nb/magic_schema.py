"""`%%llm --schema NAME`: the type NAME names in the notebook, asked for as the answer."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError


def schema_named(shell: Any, name: str) -> Any:
    """The object `name` (dotted names too: `models.Invoice`) in the user's namespace."""
    head, *rest = name.split(".")
    if not head.isidentifier() or head not in shell.user_ns:
        raise UsageError(
            f"--schema {name!r} is not defined in this notebook: define the class first "
            "(a pydantic model, a dataclass or a TypedDict), then run the cell again."
        )
    value = shell.user_ns[head]
    for part in rest:
        if not hasattr(value, part):
            raise UsageError(f"--schema {name!r}: {head} has no attribute {part!r}.")
        value = getattr(value, part)
    return value
