"""The approval card: a paused tool loop's calls, each with Approve and Deny, in a notebook.

A running cell cannot receive widget clicks (the kernel reads them once the cell has
ended), so nothing here waits for a person: the paused reply shows as this card, a click
records a decision, and once every pending call is decided the loop goes on in a worker
thread, so the kernel's event loop stays free. The card's output shows the progress, then
the answer (or the next card, when the model asks again, or the error). ipywidgets is
imported when a card is made, never before.
"""

from __future__ import annotations

import secrets
import sys
import threading
import weakref
from importlib.util import find_spec
from typing import Any

from .. import views
from ..errors import ConfigError, MissingDependencyError, redact
from ..views.transcript import pretty

#: the views' font, for the controls too
FONT = "var(--jp-ui-font-family,system-ui,-apple-system,sans-serif)"
#: one card per paused loop, however often its reply is shown (their views share its state)
_cards: weakref.WeakValueDictionary[int, ApprovalCard] = weakref.WeakValueDictionary()
_cards_lock = threading.Lock()


def in_kernel() -> bool:
    """Whether this runs in a Jupyter kernel (where a widget can be drawn)."""
    if "ipykernel" not in sys.modules or "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def mimebundle(reply: Any) -> dict[str, Any] | None:
    """The card's display bundle in a kernel with ipywidgets; None elsewhere (the reply's
    own views, which list the pending calls and how to resume, stand in)."""
    if not in_kernel() or find_spec("ipywidgets") is None:
        return None
    return approval_card(reply)._repr_mimebundle_()


def approval_card(reply: Any) -> ApprovalCard:
    """The card of a reply waiting for approval (the same card each time it is asked for)."""
    continuation = _paused(reply)
    with _cards_lock:
        card = _cards.get(id(continuation))
        if card is None or card.reply.continuation is not continuation:
            card = _cards[id(continuation)] = ApprovalCard(reply)
    return card


def _paused(reply: Any) -> Any:
    """The continuation of a reply waiting for approval; ConfigError for any other reply."""
    continuation = getattr(reply, "continuation", None)
    if not getattr(reply, "pending", ()) or continuation is None:
        raise ConfigError(
            "This answer is not waiting for approval: only a paused tool loop (reply.pending) "
            "has an approval card."
        )
    return continuation


def _output(bundle: dict[str, Any]) -> dict[str, Any]:
    return {"output_type": "display_data", "data": bundle, "metadata": {}}


def _note(text: str, state: str, extra_html: str = "") -> dict[str, Any]:
    """A one-line card (progress or error) for the output, with its text twin."""
    html = views.frame(
        f'<div class="lp-card"><div class="lp-head">{views.badge(state, state)}'
        f"<span>{views.esc(text)}</span></div>{extra_html}</div>"
    )
    return {"text/plain": redact(text), "text/html": html}


class ApprovalCard:
    """Approve or deny each pending call; when all are decided, the loop goes on.

    `approve(...)` and `deny(...)` are what the buttons call; `result` is the next answer
    and `error` what stopped the loop, once it has gone on; `wait()` blocks until then
    (for scripts and tests: in a notebook the card shows it).
    """

    def __init__(self, reply: Any) -> None:
        _paused(reply)
        try:
            import ipywidgets as widgets
        except ImportError:
            raise MissingDependencyError("ipywidgets", "notebook") from None
        self.reply = reply
        self.calls = tuple(reply.pending)
        self.decisions: dict[str, bool] = {}
        self.result: Any = None
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._ended = threading.Event()
        uid = f"llmpipe-{secrets.token_hex(6)}"
        self._font = f"<style>.{uid}{{font-family:{FONT}}}</style>"
        self.header = widgets.HTML(self._font + self._head())
        self.buttons: dict[str, tuple[Any, Any]] = {}
        self.states: dict[str, Any] = {}
        rows = []
        for call in self.calls:
            approve = widgets.Button(description="Approve", button_style="success")
            deny = widgets.Button(description="Deny", button_style="danger")
            approve.on_click(lambda _, c=call.id: self.approve(c))
            deny.on_click(lambda _, c=call.id: self.deny(c))
            self.buttons[call.id] = (approve, deny)
            self.states[call.id] = widgets.HTML()
            args = views.frame(
                f'<div class="lp-card"><code>{views.esc(call.name)}</code> '
                f'<span class="lp-note">{views.esc(call.id)}</span>'
                f'<pre class="lp-pre">{views.esc(pretty(call.arguments))}</pre></div>'
            )
            rows.append(
                widgets.VBox(
                    [widgets.HTML(args), widgets.HBox([approve, deny, self.states[call.id]])]
                )
            )
        self.approve_all = widgets.Button(description="Approve all", button_style="success")
        self.deny_all = widgets.Button(description="Deny all", button_style="danger")
        self.approve_all.on_click(lambda _: self.approve())
        self.deny_all.on_click(lambda _: self.deny())
        bulk = [widgets.HBox([self.approve_all, self.deny_all])] if len(self.calls) > 1 else []
        self.output = widgets.Output()
        self.widget = widgets.VBox([self.header, *rows, *bulk, self.output])
        self.widget.add_class(uid)
        self.widget.add_class("llmpipe-approval")

    def _head(self, state: str = "waiting for approval", kind: str = "halted") -> str:
        reply, n = self.reply, len(self.calls)
        who = " · ".join(x for x in (reply.provider, reply.model) if x)
        asked = f"The model asks to run {n} tool call{'s' * (n != 1)}"
        return views.frame(
            f'<div class="lp-card"><div class="lp-head"><span class="lp-title">{views.esc(who)}'
            f"</span>{views.badge(state, kind)}</div>"
            f'<div class="lp-body">{views.transcript_html(reply)}'
            f"{views.answer_html(reply.content) if reply.content else ''}"
            f"<div>{views.esc(asked)}: approve or deny each.</div></div></div>"
        )

    # -- deciding ------------------------------------------------------------------------

    def approve(self, *ids: str) -> None:
        """Approve these calls (by id; none: every call not yet decided)."""
        self._decide(ids, True)

    def deny(self, *ids: str) -> None:
        """Deny these calls (by id; none: every call not yet decided): the model is told so."""
        self._decide(ids, False)

    def _decide(self, ids: tuple[str, ...], verdict: bool) -> None:
        known = [c.id for c in self.calls]
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise ConfigError(
                f"No pending call has the id {unknown[0]!r}: the pending ids are {', '.join(known)}."
            )
        with self._lock:
            if self._worker is not None:
                return  # already going on: a late click changes nothing
            for call_id in ids or [i for i in known if i not in self.decisions]:
                self.decisions[call_id] = verdict
                for button in self.buttons[call_id]:
                    button.disabled = True
                word = "approved" if verdict else "denied"
                self.states[call_id].value = views.frame(
                    views.badge(word, "ok" if verdict else "halted")
                )
            if len(self.decisions) < len(self.calls):
                return
            for button in (self.approve_all, self.deny_all):
                button.disabled = True
            approved = [i for i in known if self.decisions[i]]
            self._worker = threading.Thread(
                target=self._go_on, args=(approved,), name="llmpipe-approval", daemon=True
            )
        self.header.value = self._font + self._head("decided", "ok")
        ran = ", ".join(c.name for c in self.calls if self.decisions[c.id]) or "no tool"
        self.output.outputs = (
            _output(_note(f"Running {ran}, then asking the model…", "streaming")),
        )
        self._worker.start()

    def _go_on(self, approved: list[str]) -> None:
        """In the worker thread: resume the loop, then show what came of it."""
        try:
            self.output.outputs = (_output(self._outcome(approved)),)
        finally:
            self._ended.set()  # whatever happened, wait() returns

    def _outcome(self, approved: list[str]) -> dict[str, Any]:
        """The resumed loop's answer, next card or error, as the output's bundle."""
        try:
            self.result = self.reply.resume(approved=approved)
            if getattr(self.result, "pending", ()):
                bundle = approval_card(self.result)._repr_mimebundle_()
            else:
                bundle = {
                    "text/plain": views.response_text(self.result),
                    "text/html": views.response_html(self.result),
                }
        except Exception as error:  # shown in the card: nobody would see it in a thread
            self.error = error
            line = f"{type(error).__name__}: {error}"
            steps = views.transcript_html(error) if getattr(error, "steps", ()) else ""
            bundle = _note(line, "error", steps)
        return bundle

    # -- following -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the loop has gone on and not yet ended."""
        return self._worker is not None and not self._ended.is_set()

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the resumed loop ends; its answer, or its error raised."""
        if self._worker is None:
            raise ConfigError("Nothing to wait for: decide every pending call first.")
        if not self._ended.wait(timeout):
            raise TimeoutError(f"The resumed loop did not end within {timeout} s.")
        self._worker.join()
        if self.error is not None:
            raise self.error
        return self.result

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The live card where widgets render; the paused reply's views everywhere else."""
        data = self.widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        data["text/plain"] = repr(self)
        data["text/html"] = views.response_html(self.reply)
        return data

    def __repr__(self) -> str:
        decided = ", ".join(
            f"{i} {'approved' if ok else 'denied'}" for i, ok in self.decisions.items()
        )
        state = (
            "failed" if self.error is not None
            else "asked again" if getattr(self.result, "pending", ())
            else "answered" if self._ended.is_set()
            else "running" if self._worker is not None
            else "waiting"
        )  # fmt: skip
        return views.response_text(self.reply) + (
            f"\nApprovalCard: {state}; {decided}" if decided else ""
        )
