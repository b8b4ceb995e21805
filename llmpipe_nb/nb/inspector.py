"""PipelineInspector: walk a finished request plug by plug, switch plugs off and run it again.

The runner keeps the request as it was after every plug (a reference, not a copy), so
choosing a plug shows that state and what the plug changed, field by field. Re-running
sends the request again through the same plugs minus the ones switched off (with a
real provider this is a real, billed call) and shows the new timing beside the old.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets

from .. import views
from ..config import ProviderConfig
from ..errors import ConfigError
from ..pipeline import Pipeline, Step
from ..request import Request

#: the Request fields a plug can change (the id never does)
FIELDS = tuple(f for f in Request.__slots__ if f != "id")


class _Unset:
    """The value of a key a step added or removed: shows as `(unset)`, in text and HTML."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "(unset)"

    __str__ = __repr__


#: the before (or after) of a key that was not there: `value is UNSET`
UNSET = _Unset()

#: the views' font, for the controls too (in an exported page they would take a serif one)
FONT = "var(--jp-ui-font-family,system-ui,-apple-system,sans-serif)"


def request_of(target: Any) -> Request:
    """The finished Request behind a response (or the Request itself), with its trace."""
    request = target if isinstance(target, Request) else getattr(target, "request", None)
    if not isinstance(request, Request):
        raise ConfigError(
            f"PipelineInspector needs a response or a finished Request, not {type(target).__name__}."
        )
    if not request.trace or any(step.request is None for step in request.trace):
        raise ConfigError(
            "This request kept no trace to inspect: run it with trace=True (the default)."
        )
    return request


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:  # values whose == is not a plain truth value (arrays)
        return False


def changes(before: Request, after: Request) -> list[tuple[str, str | None, Any, Any]]:
    """What changed between two states: (field, key within a mapping or None, before, after)."""
    found: list[tuple[str, str | None, Any, Any]] = []
    for name in FIELDS:
        a, b = getattr(before, name), getattr(after, name)
        if a is b:
            continue
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            for key in dict.fromkeys([*a, *b]):
                va, vb = a.get(key, UNSET), b.get(key, UNSET)
                if not _same(va, vb):
                    found.append((name, str(key), va, vb))
        elif not _same(a, b):
            found.append((name, None, a, b))
    return found


def _value(name: str, value: Any) -> str:
    if value is UNSET:
        return f'<span class="lp-note">{UNSET}</span>'
    return views.esc(_shown(name, value))


def _shown(name: str, value: Any) -> str:
    """A value as text, a record (the provider's HTTP call) field by field, each clipped on its
    own: nested that one level less, the message text inside it shows."""
    if (
        not dataclasses.is_dataclass(value)
        or isinstance(value, (type, ProviderConfig))
        or views.is_secret_name(name)
    ):
        return views.shown(name, value, 400)
    fields = ", ".join(
        f"{f.name}={views.shown(f.name, getattr(value, f.name), 400)}"
        for f in dataclasses.fields(value)
        if f.repr
    )
    return f"{type(value).__name__}({fields})"


class PipelineInspector(widgets.VBox):
    """`PipelineInspector(response)`: the plugs with their timings, each plug's effect, re-runs."""

    def __init__(self, target: Any) -> None:
        self.request = request_of(target)
        self.steps: tuple[Step, ...] = self.request.trace
        self.plugs: tuple[Any, ...] = tuple(self.request.metadata.get("plugs", ()))
        self.rerun_request: Request | None = None
        self.step_list = widgets.Select(
            options=[(self._label(s), s.index) for s in self.steps],
            value=0,
            rows=min(len(self.steps), 12),
            layout=widgets.Layout(width="auto"),
        )
        self.switches = [
            widgets.Checkbox(
                value=True, description=p.name, indent=False, layout=widgets.Layout(width="auto")
            )
            for p in self.plugs
        ]
        self.rerun_button = widgets.Button(
            description="Re-run without unchecked plugs", layout=widgets.Layout(width="auto")
        )
        self.summary = widgets.HTML()
        self.detail = widgets.HTML()
        self.timing = widgets.HTML()
        self.step_list.observe(lambda change: self._show_step(change["new"]), names="value")
        self.rerun_button.on_click(lambda _: self.rerun())
        uid = f"llmpipe-{secrets.token_hex(6)}"
        label = widgets.HTML(f"<style>.{uid}{{font-family:{FONT}}}</style><b>Plugs to run</b>")
        # the plug list keeps its width and the detail takes the rest; where both do not fit
        # side by side (a narrow notebook), the detail moves below the list
        left = widgets.VBox(
            [self.step_list, label, *self.switches, self.rerun_button],
            layout=widgets.Layout(flex="0 0 300px", width="300px"),
        )
        self.detail.layout = widgets.Layout(flex="1 1 400px", min_width="0")
        super().__init__(
            [
                self.summary,
                widgets.HBox([left, self.detail], layout=widgets.Layout(flex_flow="row wrap")),
                self.timing,
            ],
            layout=widgets.Layout(width="100%"),
        )
        self.add_class(uid)
        self._show_summary()
        self._show_step(0)

    # -- the Python API (what the controls call) --------------------------------------------

    @property
    def selected(self) -> Step:
        return self.steps[self.step_list.value]

    def select(self, step: int | str) -> Step:
        """Choose a step by index or plug name; the detail shows its request and its changes."""
        if isinstance(step, str):
            index = next((s.index for s in self.steps if s.plug == step), None)
            if index is None:
                names = ", ".join(s.plug for s in self.steps)
                raise ConfigError(f"No step ran a plug named '{step}': the steps are {names}.")
            step = index
        if not 0 <= step < len(self.steps):
            raise ConfigError(f"There is no step {step}: choose 0 to {len(self.steps) - 1}.")
        self.step_list.value = step
        return self.selected

    def before(self, index: int) -> Request | None:
        """The request as the step at `index` received it (None if it was not recorded)."""
        if index > 0:
            return self.steps[index - 1].request
        initial = self.request.metadata.get("initial_request")
        if initial is None:
            return None
        return initial.evolve(state="executing") if initial.state == "pending" else initial

    def changes(self, step: int | str | None = None) -> list[tuple[str, str | None, Any, Any]]:
        """What the chosen step's plug changed in the request."""
        index = self.selected.index if step is None else self.select(step).index
        before, after = self.before(index), self.steps[index].request
        return [] if before is None or after is None else changes(before, after)

    @property
    def switched_off(self) -> list[str]:
        return [box.description for box in self.switches if not box.value]

    def switch_off(self, *names: str) -> None:
        self._switch(names, False)

    def switch_on(self, *names: str) -> None:
        self._switch(names, True)

    def _switch(self, names: tuple[str, ...], on: bool) -> None:
        known = [box.description for box in self.switches]
        for name in names:
            if name not in known:
                raise ConfigError(
                    f"The pipeline has no plug named '{name}': its plugs are {', '.join(known)}."
                )
        for box in self.switches:
            if box.description in names:
                box.value = on

    def rerun(self) -> Request:
        """Run the request again through the plugs that are switched on; returns the new Request."""
        initial = self.request.metadata.get("initial_request")
        if initial is None or not self.plugs:
            raise ConfigError(
                "This request did not record its plugs and first state, so it cannot be re-run: "
                "run it again with trace=True."
            )
        fresh = Request.new(
            initial.provider,
            initial.messages,
            initial.options,
            kind=initial.kind,
            assigns=initial.assigns,
        ).evolve(metadata=initial.metadata, private=initial.private)
        kept = [plug for plug, box in zip(self.plugs, self.switches, strict=True) if box.value]
        self.rerun_request = Pipeline.run(fresh, kept)
        self._show_timing()
        return self.rerun_request

    # -- rendering ----------------------------------------------------------------------------

    @staticmethod
    def _label(step: Step) -> str:
        return f"{step.index:>2}  {step.plug}  {views.duration(step.duration_ns)}  {step.outcome}"

    def _show_summary(self) -> None:
        r = self.request
        facts = " · ".join(f"{k} {v}" for k, v in views.request_facts(r))
        self.summary.value = views.frame(
            f'<div class="lp-head"><span class="lp-title">{views.esc(r.provider)}/{views.esc(r.kind)}</span>'
            f"<code>{views.esc(r.id)}</code><span>{views.esc(facts)}</span></div>"
        )

    def _show_step(self, index: int) -> None:
        step = self.steps[index]
        before = self.before(index)
        rows = self.changes(index) if before is not None else []
        if before is None:
            changed = (
                '<div class="lp-note">the request before the first plug was not recorded</div>'
            )
        elif not rows:
            changed = '<div class="lp-note">nothing: the request passed through unchanged</div>'
        else:
            changed = views.table(
                ["field", "key", "before", "after"],
                [
                    [
                        f"<code>{views.esc(f)}</code>",
                        views.esc(k or ""),
                        _value(k or f, a),
                        _value(k or f, b),
                    ]
                    for f, k, a, b in rows
                ],
            )
        state = step.request
        after = views.table(
            ["field", "value"],
            [[f"<code>{f}</code>", _value(f, getattr(state, f))] for f in FIELDS] if state else [],
        )
        note = f'<div class="lp-note">{views.esc(step.note)}</div>' if step.note else ""
        self.detail.value = views.frame(
            f'<div class="lp-card"><div class="lp-head"><span class="lp-title">Step {step.index} · '
            f"{views.esc(step.plug)}</span>{views.badge(step.outcome, step.outcome)}"
            f"<span>{views.duration(step.duration_ns)}</span></div>{note}"
            f"<div><b>What it changed</b></div>{changed}"
            f"<details><summary>The request after this plug</summary>{after}</details></div>",
            "#R table.lp-t td+td{overflow-wrap:anywhere}",  # a long value wraps, not overflows
        )
        self._show_timing()

    def _show_timing(self) -> None:
        self.timing.value = self._timing_html()

    def _timing_html(self) -> str:
        selected = self.step_list.value
        if self.rerun_request is None:
            return views.frame(
                f'<div class="lp-card">{views.trace_html(self.steps, selected=selected)}</div>'
            )
        new = self.rerun_request
        off = ", ".join(self.switched_off) or "no plug"
        old_total = views.duration(self.request.metadata.get("duration_ns", 0))
        new_total = views.duration(new.metadata.get("duration_ns", 0))
        errors = "".join(
            f"<li>{views.esc(type(e.error).__name__)} in <code>{views.esc(e.plug)}</code>: {views.esc(e.error)}</li>"
            for e in new.errors
        )
        head = (
            f'<div class="lp-head"><span class="lp-title">Re-run without {views.esc(off)}</span>'
            f"{views.badge(new.state, new.state)}<span>{new_total} (before: {old_total})</span></div>"
        )
        errors_html = f'<ul class="lp-errors">{errors}</ul>' if errors else ""
        chosen = self.steps[selected].plug if selected is not None else None
        same = next((step.index for step in new.trace if step.plug == chosen), None)
        table = views.trace_html(new.trace, compare=self.steps, selected=same)
        return views.frame(f'<div class="lp-card">{head}{errors_html}{table}</div>')

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The live widget where widgets render; the static request view everywhere else."""
        data = super()._repr_mimebundle_(**kwargs) or {}
        data["text/plain"] = views.request_text(self.request)
        data["text/html"] = views.request_html(self.request)
        return data
