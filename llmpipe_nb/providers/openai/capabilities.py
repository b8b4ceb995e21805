"""What each OpenAI model accepts on Chat Completions: one table, read by `options.py`.

How to update: find the model's row (the first whose pattern matches the id wins, so put a
narrower pattern above a broader one), or add a row above the family it belongs to.
Patterns are `fnmatch` globs on the lower-cased id; a fine-tune (`ft:<base>:<org>::<id>`)
follows its base model. State where each fact comes from in the row's comment, as
`docs/providers.md` and the wire-protocol notes do (V: verified in the SDK or an official
page; S: secondary sources only). A value the table does not know is better left unchecked
(`efforts=None`) than refused: the API then judges, and answers with its own error.

An id that matches no row gets `UNKNOWN`: nothing is refused before sending, and the API
judges every parameter. Only `max_completion_tokens` is sent for every model, because
OpenAI accepts it on all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

#: every `reasoning_effort` value OpenAI's API knows (openai 3.63 `ReasoningEffort`)
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
#: every `verbosity` value
VERBOSITIES = ("low", "medium", "high")
#: every `service_tier` value; the answer reports `priority` when `fast` was asked
SERVICE_TIERS = ("auto", "default", "flex", "scale", "priority", "fast")

#: "any": temperature/top_p always accepted; "effort_none": only with reasoning_effort
#: "none"; "never": refused (with logprobs) because the model always reasons
Sampling = Literal["any", "effort_none", "never"]


@dataclass(frozen=True, slots=True)
class ModelRules:
    """What one family of models accepts."""

    patterns: tuple[str, ...]
    #: accepted reasoning_effort values; () not a reasoning model; None any value in EFFORTS
    efforts: tuple[str, ...] | None
    sampling: Sampling = "any"
    #: takes an explicit `n` (newer models refuse it, even n=1)
    n: bool = True
    stop: bool = True
    verbosity: bool = False
    #: function tools on Chat Completions only with reasoning_effort "none"
    tools_need_effort_none: bool = False

    @property
    def reasoning(self) -> bool:
        return self.efforts != ()


_O_SERIES = ("low", "medium", "high")

TABLE: tuple[ModelRules, ...] = (
    # gpt-5-chat-latest answers without reasoning; what it refuses is not documented
    ModelRules(("gpt-5-chat*",), efforts=None, verbosity=True),
    # chat models without reasoning (V: SDK `ChatModel`; sampling and n accepted)
    ModelRules(("gpt-3.5*", "gpt-4*", "chatgpt-4o*"), efforts=()),
    # o-series: no sampling parameters; `stop` refused by o3 and o4-mini (V: SDK docstring)
    ModelRules(("o1*", "o3-mini*"), efforts=_O_SERIES, sampling="never"),
    ModelRules(("o3*", "o4-mini*"), efforts=_O_SERIES, sampling="never", stop=False),
    # GPT-5 (the first release): no "none" effort, so no sampling parameters (V: SDK)
    ModelRules(
        ("gpt-5", "gpt-5-20*", "gpt-5-mini*", "gpt-5-nano*"),
        efforts=("minimal", "low", "medium", "high"),
        sampling="never",
        n=False,
        verbosity=True,
    ),
    ModelRules(("gpt-5-*",), efforts=None, sampling="never", n=False, verbosity=True),
    # GPT-5.1: "none" replaces "minimal"; sampling only without reasoning (S: laozhang docs)
    ModelRules(
        ("gpt-5.1*",),
        efforts=("none", "low", "medium", "high"),
        sampling="effort_none",
        n=False,
        verbosity=True,
    ),
    # luna: refuses "minimal"; function tools only with effort "none" (S: Vane#1173, oxen.ai)
    ModelRules(
        ("gpt-5.6-luna*", "gpt-6*-luna*"),
        efforts=("none", "low", "medium", "high", "xhigh", "max"),
        sampling="effort_none",
        n=False,
        verbosity=True,
        tools_need_effort_none=True,
    ),
    # astra: no "none" or "minimal", "max" only on the Responses API, so never sampling
    # parameters or logprobs (S: CopilotKit#7191 quoting the model page)
    ModelRules(
        ("gpt-6*-astra*",),
        efforts=("low", "medium", "high", "xhigh"),
        sampling="never",
        n=False,
        verbosity=True,
    ),
    # the rest of GPT-5.x and GPT-6 (sol, terra, ...): sampling only with effort "none"
    # (S: models.dev#6639); which effort values each takes is not documented
    ModelRules(
        ("gpt-5.*", "gpt-6*"), efforts=None, sampling="effort_none", n=False, verbosity=True
    ),
)

#: the rules for an id no row matches: nothing checked, the API judges
UNKNOWN = ModelRules(("*",), efforts=None, verbosity=True)


def rules_for(model: str) -> ModelRules:
    """The first row whose pattern matches `model` (a fine-tune follows its base), else UNKNOWN."""
    base = model.lower()
    if base.startswith("ft:"):
        base = base[3:].split(":", 1)[0]
    for rules in TABLE:
        if any(fnmatchcase(base, pattern) for pattern in rules.patterns):
            return rules
    return UNKNOWN
