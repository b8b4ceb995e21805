"""The dependency direction of docs/architecture.md: each layer imports only those below it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "llmpipe_nb"
LAYERS = {
    "core": [
        "request",
        "plug",
        "pipeline",
        "errors",
        "config",
        "pricing",
        "tokens",
        "messages",
        "responses",
        "transport",
        "tagging",
        "plugs.validate_provider",
        "plugs.fetch_config",
        "plugs.build_http_client",
        "plugs.execute_request",
        "plugs.track_cost",
    ],
    "providers": ["providers"],
    "analysis": ["ledger", "stores.ledger_sqlite", "batch"],
    "features": [
        "plugs.cache",
        "plugs.retry_policy",
        "plugs.circuit_breaker",
        "plugs.rate_limiter",
        "plugs.manage_context",
        "plugs.budget",
        "stores",
    ],
    "api": ["api", "builder", "outcome", "streams"],
}
ORDER = ["core", "providers", "features", "api", "analysis", "notebook"]
# The core's provider-facing plugs look providers up by name through the registry (and
# its Provider type): the one sanctioned upward reference; the core never imports a provider.
REGISTRY = {"llmpipe_nb.providers", "llmpipe_nb.providers.Provider"}


def layer_of(module: str) -> str:
    name = module.removeprefix("llmpipe_nb.")
    for layer, prefixes in LAYERS.items():
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return layer
    if name.split(".")[0] in ("nb", "views", "demo", "cli"):
        return "notebook"
    return "other"


def module_level_imports(path: Path, module: str) -> set[str]:
    """Absolute names of llmpipe_nb modules imported at module level (not inside functions)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.startswith("llmpipe_nb"):
                found.add(target)
                found.update(f"{target}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("llmpipe_nb"))
    return found


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), path))
    return sorted(out)


@pytest.mark.parametrize(
    ("module", "path"),
    [m for m in modules() if layer_of(m[0]) in ORDER[:4]],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_lower_layers_never_import_higher_ones(module, path):
    mine = ORDER.index(layer_of(module))
    for target in module_level_imports(path, module):
        theirs = layer_of(target)
        if theirs not in ORDER or target == "llmpipe_nb":
            continue
        if layer_of(module) == "core" and target in REGISTRY:
            continue
        assert ORDER.index(theirs) <= mine, (
            f"{module} ({layer_of(module)}) imports {target} ({theirs})"
        )


def test_core_uses_only_the_standard_library():
    for module, path in modules():
        if layer_of(module) != "core":
            continue
        for node in ast.parse(path.read_text()).body:
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top in ("llmpipe_nb", "__future__"), (
                    f"{module} imports {name} at module level"
                )
