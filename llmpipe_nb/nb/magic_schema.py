"""`%%llm --schema NAME` and `--tools a,b`: objects the cell names, read from the notebook."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError


def schema_named(shell: Any, name: str) -> Any:
    """The object `name` (dotted names too: `models.Invoice`) in the user's namespace."""
    return _named(
        shell,
        "--schema",
        name,
        "define the class first (a pydantic model, a dataclass or a TypedDict)",
    )


def tools_named(shell: Any, names: str) -> list[Any]:
    """The functions (or Tools, toolsets) a comma-separated `--tools` list names."""
    listed = [name.strip() for name in names.split(",") if name.strip()]
    if not listed:
        raise UsageError("--tools names no function: write --tools get_weather,search.")
    return [_named(shell, "--tools", name, "define the function first") for name in listed]


def _named(shell: Any, option: str, name: str, fix: str) -> Any:
    head, *rest = name.split(".")
    if not head.isidentifier() or head not in shell.user_ns:
        raise UsageError(
            f"{option} {name!r} is not defined in this notebook: {fix}, then run the cell again."
        )
    value = shell.user_ns[head]
    for part in rest:
        if not hasattr(value, part):
            raise UsageError(f"{option} {name!r}: {head} has no attribute {part!r}.")
        value = getattr(value, part)
    return value
