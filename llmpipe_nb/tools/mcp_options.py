"""The options of `llm.mcp`, checked before anything starts, and the secrets among them.

A bad option is a ConfigError naming it (never its value) while no process or session
exists yet. The values of credential-named `env=` variables and credential headers are
remembered as secrets, so that no error shows them: not even a server's stderr, whose
last lines an error carries.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from ..credentials import is_secret_name, mask_header
from ..errors import ConfigError, remember_secret


def check(
    command: Sequence[str] | None,
    *,
    url: str | None,
    env: Mapping[str, str] | None,
    cwd: str | os.PathLike[str] | None,
    headers: Mapping[str, str] | None,
    prefix: str,
    timeout: float,
) -> None:
    """ConfigError for options that cannot start a server; nothing has started yet."""
    if (command is None) == (url is None):
        raise ConfigError("llm.mcp needs either command=[...] (stdio) or url=... (HTTP).")
    if command is not None:
        if isinstance(command, str) or not command or not all(isinstance(p, str) for p in command):
            raise ConfigError(
                f"command={command!r}: give the program and its arguments as a list of "
                "strings, such as ['uvx', 'mcp-server-git']."
            )
        if headers is not None:
            raise ConfigError("headers= are for an HTTP server (url=...), not a command.")
    elif not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(f"url={url!r} is not an http:// or https:// address.")
    elif env is not None or cwd is not None:
        raise ConfigError("env= and cwd= are for a command, not an HTTP server (url=...).")
    for option, given in (("env", env), ("headers", headers)):
        if given is not None and not _texts(given):
            raise ConfigError(
                f"{option}= must map names to text values, such as {{'API_TOKEN': '...'}}."
            )
    if not isinstance(prefix, str):
        raise ConfigError(f"prefix={prefix!r} must be a string, such as 'git_'.")
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ConfigError(f"timeout must be seconds > 0, not {timeout!r}.")


def _texts(given: Any) -> bool:
    return isinstance(given, Mapping) and all(
        isinstance(name, str) and isinstance(value, str) for name, value in given.items()
    )


def remember_secrets(
    env: Mapping[str, str] | None,
    headers: Mapping[str, str] | None,
    command: Sequence[str] | None = None,
) -> None:
    """Redact, from now on, the values of credential-named variables, headers and command
    options (`--api-key K`, `--token=K`), which a repr or an error would otherwise show."""
    arguments = list(command or ())
    for at, flag in enumerate(arguments):
        following = arguments[at + 1] if at + 1 < len(arguments) else ""
        name, equals, value = flag.partition("=")
        if flag.startswith("-") and is_secret_name(name.lstrip("-").replace("-", "_")):
            remember_secret(value if equals else following)
    for name, value in (env or {}).items():
        if is_secret_name(name):
            remember_secret(value)
    for name, value in (headers or {}).items():
        if mask_header(name, value) == "***":
            remember_secret(value)
            remember_secret(value.rpartition(" ")[2])  # the token of 'Bearer <token>'
