"""Prompts that know their values: renderers by type, a token budget, dry runs.

`llm.prompt(template, **values)` renders each `{field}` with the renderer of its value's
type (DataFrames, arrays, figures, text, ...), shrinking the largest until the prompt
fits its budget; `llm.renderer(MyType)` registers your own. The notebook magics use the
same machinery with the notebook's variables, cells and errors. Importing this package
imports neither pandas nor numpy: they load when such a value is rendered.
"""

from . import arrays, frames, images  # noqa: F401 - register their renderers
from .dryrun import DryRun, dry_run
from .images import Image
from .prompts import Prompt, compose, default_budget, prompt
from .renderers import renderer
from .template import Field, parse

__all__ = [
    "DryRun",
    "Field",
    "Image",
    "Prompt",
    "compose",
    "default_budget",
    "dry_run",
    "parse",
    "prompt",
    "renderer",
]
