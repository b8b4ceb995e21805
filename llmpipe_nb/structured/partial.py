"""Incremental JSON: the object so far, while its text still arrives.

`PartialJSON.feed(text)` reads only the new text (each character once, so a whole
stream costs time linear in its length, never a re-parse from the start), and `value`
is the best-effort object so far: finished fields as they are, an open string as far as
it has come, an unfinished number or literal left out until it ends. Open objects and
arrays are copied when `value` is read, so each value handed out stays as it was;
finished ones are shared, since they never change again. Anything before the first `{`
or `[` (prose, a code fence) and after the end is skipped.
"""

from __future__ import annotations

import json
import re
from typing import Any

_WHITESPACE = re.compile(r"[ \t\r\n]+")
_STRING_RUN = re.compile(r'[^"\\]+')
_NUMBER_RUN = re.compile(r"[0-9eE+\-.]+")
_LETTERS = re.compile(r"[a-z]+")
_OPEN_UNICODE = re.compile(r"u[0-9a-fA-F]{0,3}")
_LITERALS = {"true": True, "false": False, "null": None}
_NOTHING: Any = object()

# states
_START, _VALUE, _KEY, _COLON, _AFTER, _STRING, _NUMBER, _LITERAL, _DONE = range(9)


class _Frame:
    """An open object or array, where it sits in its parent, and the key being filled."""

    __slots__ = ("container", "key", "slot")

    def __init__(self, container: Any, slot: Any) -> None:
        self.container = container
        self.slot = slot
        self.key: str | None = None


class PartialJSON:
    """Feed JSON text piece by piece; `value` is the object so far (None before it starts)."""

    __slots__ = ("_escaping", "_frames", "_is_key", "_root", "_state", "_token", "broken")

    def __init__(self) -> None:
        self._frames: list[_Frame] = []
        self._root: Any = _NOTHING
        self._state = _START
        self._token: list[str] = []
        self._is_key = False
        self._escaping = False
        #: the text stopped being JSON; `value` keeps what was read before
        self.broken = False

    @property
    def complete(self) -> bool:
        """Whether the outermost object or array has closed."""
        return self._state == _DONE and not self.broken

    def feed(self, text: str) -> None:
        """Read the next piece of the text."""
        i, n = 0, len(text)
        while i < n:
            state = self._state
            if state == _STRING:
                i = self._string(text, i, n)
                continue
            if state in (_NUMBER, _LITERAL):
                run = (_NUMBER_RUN if state == _NUMBER else _LETTERS).match(text, i)
                if run is not None:
                    self._token.append(run.group())
                    i = run.end()
                    if state == _LITERAL:
                        self._literal(done=False)
                    continue
                self._scalar_end()
                continue
            if state == _DONE:
                return
            space = _WHITESPACE.match(text, i)
            if space is not None:
                i = space.end()
                continue
            self._char(text[i])
            i += 1

    def _char(self, c: str) -> None:
        state = self._state
        if state == _START:
            if c in "{[":
                self._open({} if c == "{" else [])
        elif state == _VALUE:
            if c in "{[":
                self._open({} if c == "{" else [])
            elif c == '"':
                self._begin(_STRING, "", key=False)
            elif c in "-0123456789":
                self._begin(_NUMBER, c)
            elif c in "tfn":
                self._begin(_LITERAL, c)
            elif c == "]" and self._frames and isinstance(self._frames[-1].container, list):
                self._close()  # `[]`, or a trailing comma
            else:
                self._break()
        elif state == _KEY:
            if c == '"':
                self._begin(_STRING, "", key=True)
            elif c == "}":
                self._close()
            else:
                self._break()
        elif state == _COLON:
            self._state = _VALUE if c == ":" else self._break()
        elif state == _AFTER:
            if c == ",":
                self._state = _KEY if isinstance(self._frames[-1].container, dict) else _VALUE
            elif c in "}]":
                self._close()
            else:
                self._break()

    def _break(self) -> int:
        self.broken = True
        self._state = _DONE
        return _DONE

    def _begin(self, state: int, first: str, key: bool = False) -> None:
        self._state = state
        self._token = [first] if first else []
        self._is_key = key

    def _open(self, container: Any) -> None:
        slot = self._put(container)
        self._frames.append(_Frame(container, slot))
        self._state = _KEY if isinstance(container, dict) else _VALUE

    def _close(self) -> None:
        self._frames.pop()
        self._state = _AFTER if self._frames else _DONE

    def _put(self, value: Any) -> Any:
        """Place a value in the open container (or as the root); return its slot there."""
        if not self._frames:
            self._root = value
            return None
        frame = self._frames[-1]
        if isinstance(frame.container, dict):
            frame.container[frame.key] = value
            return frame.key
        frame.container.append(value)
        return len(frame.container) - 1

    def _string(self, text: str, i: int, n: int) -> int:
        while i < n:
            if self._escaping:
                self._token.append(text[i])
                self._escaping = False
                i += 1
                continue
            run = _STRING_RUN.match(text, i)
            if run is not None:
                self._token.append(run.group())
                i = run.end()
                continue
            if text[i] == "\\":
                self._token.append("\\")
                self._escaping = True
                i += 1
                continue
            raw = "".join(self._token)  # the closing quote
            value = _decode(raw)
            if self._is_key:
                self._frames[-1].key = value
                self._state = _COLON
            else:
                self._put(value)
                self._state = _AFTER
            return i + 1
        return i

    def _scalar_end(self) -> None:
        if self._state == _LITERAL:
            self._literal(done=True)
            return
        raw = "".join(self._token)
        try:
            number = json.loads(raw)
        except ValueError:
            self._break()
            return
        self._put(number)
        self._state = _AFTER

    def _literal(self, done: bool) -> None:
        word = "".join(self._token)
        if word in _LITERALS:
            self._put(_LITERALS[word])
            self._state = _AFTER
        elif done or not any(name.startswith(word) for name in _LITERALS):
            self._break()

    @property
    def value(self) -> Any:
        """The object so far: a fresh copy of what is still open, or the finished value."""
        frames = self._frames
        if not frames:
            return None if self._root is _NOTHING else self._root
        root = top = _copy(frames[0].container)
        for frame in frames[1:]:
            child = _copy(frame.container)
            top[frame.slot] = child
            top = child
        if self._state == _STRING and not self._is_key:
            raw = "".join(self._token)
            self._token = [raw]  # joined once: the next read joins only what came since
            text = _decode(_finished_escapes(raw, self._escaping))
            if isinstance(top, dict):
                top[frames[-1].key] = text
            else:
                top.append(text)
        return root


def _copy(container: Any) -> Any:
    return dict(container) if isinstance(container, dict) else list(container)


def _decode(raw: str) -> str:
    if "\\" not in raw:
        return raw
    try:
        return json.loads(f'"{raw}"')
    except ValueError:
        return raw


def _finished_escapes(raw: str, escaping: bool) -> str:
    """`raw` without an escape sequence cut off at its end (a lone backslash, `\\u00`);
    only the last few characters are looked at."""
    if escaping:
        return raw[:-1]
    at = raw.rfind("\\", max(0, len(raw) - 5))
    if at < 0 or not _OPEN_UNICODE.fullmatch(raw, at + 1):
        return raw
    start = at
    while start > 0 and raw[start - 1] == "\\":
        start -= 1
    return raw[:at] if (at - start) % 2 == 0 else raw
