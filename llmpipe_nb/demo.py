"""`llmpipe demo`: the quickstart notebook, run headless in a real Jupyter kernel, offline.

The notebook runs top to bottom against the mock provider (no key, no network). The
executed notebook, an HTML page of it and the run's ledger land in `build/demo/`. The
page embeds the widget state and loads the widget renderer from a copy next to it, so
it renders from disk with nothing fetched from a CDN. Consecutive printed pieces (a
streamed answer printed chunk by chunk) are joined into one output, as Jupyter shows them.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError, MissingDependencyError

NOTEBOOK = Path("notebooks") / "01_quickstart.ipynb"
OUT_DIR = Path("build") / "demo"
RENDERER = Path(__file__).parent / "_vendor" / "html_manager" / "embed.js"
#: the source checkout this package was installed from (editable installs)
_CHECKOUT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DemoResult:
    """What the demo ran and wrote, and what the requests cost."""

    source: Path
    notebook: Path
    html: Path
    ledger: Path
    cells: int
    seconds: float
    requests: int
    request_errors: tuple[str, ...]
    input_tokens: int
    output_tokens: int
    cost_usd: float
    error: str | None = None

    def _errors(self) -> str:
        if not self.request_errors:
            return ", all answered"
        kinds = ", ".join(sorted(set(self.request_errors)))
        return f" ({len(self.request_errors)} ended in an error: {kinds})"

    def summary(self) -> str:
        """A short report for the terminal."""
        outcome = "ran" if self.error is None else "FAILED"
        lines = [
            f"{self.source}: {outcome}, {self.cells} code cells in {self.seconds:.1f} s "
            "in a Jupyter kernel, on the mock provider.",
            f"  requests  {self.requests}{self._errors()}",
            f"  tokens    {self.input_tokens:,} in, {self.output_tokens:,} out",
            f"  cost      ${self.cost_usd:.6f}",
            f"  notebook  {self.notebook}",
            f"  html      {self.html}  (open it in a browser; it works offline)",
            f"  ledger    {self.ledger}  (see `llmpipe costs --db {self.ledger}`)",
        ]
        if self.error is not None:
            lines.append(f"  error     {self.error}")
        return "\n".join(lines)


def find_notebook(path: str | os.PathLike[str] | None = None) -> Path:
    """The notebook to run: `path`, else the quickstart in this folder or in the checkout."""
    if path is not None:
        if Path(path).is_file():
            return Path(path)
        raise ConfigError(f"No notebook at {path}: check the path to the .ipynb file.")
    for candidate in (NOTEBOOK, _CHECKOUT / NOTEBOOK):
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"No notebook at {NOTEBOOK}: run `llmpipe demo` from the repository root, "
        "or pass --notebook PATH."
    )


def kernel_env(ledger: Path) -> dict[str, str]:
    """This environment, with no provider keys, the mock as default and a fresh ledger file."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(LLMPIPE_PROVIDER="mock", LLMPIPE_LEDGER=str(ledger), JUPYTER_PLATFORM_DIRS="1")
    return env


def run(
    notebook: str | os.PathLike[str] | None = None,
    out_dir: str | os.PathLike[str] = OUT_DIR,
    timeout: float = 120,
) -> DemoResult:
    """Execute the notebook in a new kernel and write it, its HTML page and its ledger."""
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError as missing:
        raise MissingDependencyError(missing.name or "nbclient", "demo") from missing

    source = find_notebook(notebook)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ledger = out / "ledger.sqlite"
    for stale in (
        ledger,
        ledger.with_name(ledger.name + "-wal"),
        ledger.with_name(ledger.name + "-shm"),
    ):
        stale.unlink(missing_ok=True)

    nb = nbformat.read(source, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(source.parent.resolve())}},
    )
    error: str | None = None
    started = time.perf_counter()
    with open(out / "kernel.log", "wb") as log:
        try:
            client.execute(env=kernel_env(ledger.resolve()), stdout=log, stderr=log)
        except CellExecutionError as failure:
            error = f"cell {_failed_cell(nb)} raised {failure.ename}: {failure.evalue}"
    seconds = time.perf_counter() - started

    coalesce_streams(nb)
    executed = out / source.name
    nbformat.write(nb, executed)
    html = write_html(nb, out / f"{source.stem}.html")
    totals = _totals(ledger)
    cells = sum(1 for c in nb.cells if c.cell_type == "code" and c.get("execution_count"))
    return DemoResult(source, executed, html, ledger, cells, seconds, *totals, error=error)


def coalesce_streams(nb: Any) -> None:
    """Join each cell's consecutive stdout (or stderr) outputs into one, in place: the kernel
    sends one output per flush, which an exported page would show as separate blocks."""
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    CoalesceStreamsPreprocessor().preprocess(nb, {})


def write_html(nb: Any, path: Path) -> Path:
    """An HTML page of the executed notebook whose widgets render offline."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        widget_renderer_url=RENDERER.name,
        require_js_url="",
        mathjax_url="",
    )
    body, _ = exporter.from_notebook_node(nb)
    path.write_text(body, encoding="utf-8")
    shutil.copyfile(RENDERER, path.parent / RENDERER.name)
    return path


def _failed_cell(nb: Any) -> int:
    for index, cell in enumerate(nb.cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", ())):
            return index
    return -1


def _totals(path: Path) -> tuple[int, tuple[str, ...], int, int, float]:
    """Requests, their error types, input and output tokens, and cost, from the ledger file."""
    from .ledger import COST_COLUMNS, Ledger

    if not path.exists():
        return 0, (), 0, 0, 0.0
    rows = Ledger.open(path).rows().costs
    col = {name: i for i, name in enumerate(COST_COLUMNS)}
    errors = tuple(r[col["error_type"]] for r in rows if r[col["status"]] == "error")
    tokens_in = sum(r[col["input_tokens"]] for r in rows)
    tokens_out = sum(r[col["output_tokens"]] for r in rows)
    cost = sum(r[col["cost_usd"]] or 0.0 for r in rows)
    return len(rows), errors, tokens_in, tokens_out, cost
