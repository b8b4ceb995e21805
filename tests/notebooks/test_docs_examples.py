"""The code examples in docs/*.md and README.md run, in order, one IPython shell per page.

A fenced block whose info string starts with `python` or `ipython` is executed, unless
the info string also says `no-run` (for examples that need a real key or service).
Other blocks (`text`, `bash`, `json`, ...) are shown, not run, but every import line in
any block (and in inline code) is imported, so no page names a module or class that
does not exist. The versions docs/dependencies.md states are the ones pyproject.toml asks.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import pytest
import tomllib
from IPython.core.interactiveshell import InteractiveShell
from markdown_it import MarkdownIt

import llmpipe_nb as llm

ROOT = Path(__file__).resolve().parents[2]
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
RUNNABLE = ("python", "ipython")


class Block(NamedTuple):
    line: int
    code: str


def runnable_blocks(markdown: str) -> list[Block]:
    blocks = []
    for token in MarkdownIt("commonmark").parse(markdown):
        words = token.info.split()
        if token.type == "fence" and words and words[0] in RUNNABLE and "no-run" not in words:
            blocks.append(Block(token.map[0] + 1 if token.map else 0, token.content))
    return blocks


@pytest.fixture
def shell(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    yield shell
    InteractiveShell.clear_instance()
    llm.ledger().persist(None)  # a page may have sent the ledger to a file in tmp_path


def run_page(shell: InteractiveShell, path: Path) -> int:
    blocks = runnable_blocks(path.read_text(encoding="utf-8"))
    for block in blocks:
        result = shell.run_cell(block.code, store_history=False)
        if not result.success:
            error = result.error_in_exec or result.error_before_exec
            pytest.fail(f"{path.name}:{block.line}: {type(error).__name__}: {error}", pytrace=False)
    return len(blocks)


@pytest.mark.parametrize("path", PAGES, ids=[p.name for p in PAGES])
def test_the_examples_of_a_page_run(path, shell):
    run_page(shell, path)


def test_only_python_blocks_without_no_run_are_picked():
    page = (
        "```python\nx = 1\n```\n\n"
        "```python no-run\nraise SystemExit\n```\n\n"
        "```ipython\n%time x\n```\n\n"
        "```text\nnot code\n```\n\n"
        "    indented = 'not a fence'\n"
    )
    assert runnable_blocks(page) == [Block(1, "x = 1\n"), Block(9, "%time x\n")]


def test_a_failing_example_fails_with_its_page_and_line(tmp_path, shell):
    page = tmp_path / "page.md"
    page.write_text("# T\n\n```python\nvalue = 41\n```\n\n```python\nassert value == 42\n```\n")
    with pytest.raises(pytest.fail.Exception, match=r"page\.md:7: AssertionError"):
        run_page(shell, page)


def relative_links(markdown: str) -> list[str]:
    links = []
    for token in MarkdownIt("commonmark").parse(markdown):
        for child in token.children or ():
            href = child.attrGet("href") if child.type == "link_open" else None
            if isinstance(href, str) and not re.match(r"^[a-z][a-z0-9+.-]*:|^#", href):
                links.append(href.split("#")[0])
    return links


@pytest.mark.parametrize("path", PAGES, ids=[p.name for p in PAGES])
def test_the_links_of_a_page_lead_somewhere(path):
    missing = [
        link
        for link in relative_links(path.read_text(encoding="utf-8"))
        if not (path.parent / link).exists()
    ]
    assert missing == []


def test_relative_links_are_found():
    page = "[a](a.md) [b](https://x.org/b.md) [c](#c) [d](../d.md#part) `[e](e.md)`"
    assert relative_links(page) == ["a.md", "../d.md"]


def test_the_pages_have_examples():
    for name in ("architecture.md", "custom-plugs-and-providers.md", "README.md"):
        path = ROOT / name if name == "README.md" else ROOT / "docs" / name
        assert runnable_blocks(path.read_text(encoding="utf-8")), f"{name} has no runnable example"


IMPORT = re.compile(r"^(?:from\s+[\w.]+\s+import\s+.+|import\s+[\w.]+(?:\s+as\s+\w+)?(?:\s*,.+)?)$")


def import_lines(markdown: str) -> list[str]:
    """Every import statement in the page's fenced blocks (any language) and inline code,
    a parenthesised one joined into one line."""
    found = []
    for token in MarkdownIt("commonmark").parse(markdown):
        if token.type == "fence":
            pending = ""
            for raw in token.content.splitlines():
                line = raw.strip().removeprefix(">>> ").removeprefix("... ")
                if pending:
                    pending += " " + line
                    if ")" in line:
                        found.append(pending)
                        pending = ""
                elif IMPORT.match(line):
                    if line.endswith("(") or ("(" in line and ")" not in line):
                        pending = line
                    else:
                        found.append(line.split("  #")[0].split(" # ")[0])
        for child in token.children or ():
            if child.type == "code_inline" and IMPORT.match(child.content.strip()):
                found.append(child.content.strip())
    return found


def test_import_lines_are_found_in_every_kind_of_block():
    page = (
        "```python no-run\nimport os\nfrom a.b import (\n    c,\n    d,\n)\n```\n\n"
        "```text\n>>> from e import f  # shown\nimported = 'no'\n```\n\n"
        "Use `from g import h` or `import_this()`.\n"
    )
    assert import_lines(page) == [
        "import os",
        "from a.b import ( c, d, )",
        "from e import f",
        "from g import h",
    ]


@pytest.mark.parametrize("path", PAGES, ids=[p.name for p in PAGES])
def test_every_import_line_of_a_page_imports(path):
    failures = []
    for line in import_lines(path.read_text(encoding="utf-8")):
        try:
            exec(compile(line, path.name, "exec"), {})
        except Exception as error:
            failures.append(f"{line}: {type(error).__name__}: {error}")
    assert failures == []


def test_the_required_versions_in_the_docs_are_the_ones_pyproject_asks():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs.extend(extra)
    required = {}
    for spec in specs:
        match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?(>=[^,;\s]+)", spec)
        if match and not match.group(1).startswith("llmpipe"):
            required[match.group(1).lower()] = match.group(2)
    page = (ROOT / "docs" / "dependencies.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| ([a-z0-9-]+) \| (>=[^ |]+) \| [^|]+ \|$", page, re.M))
    assert table, "docs/dependencies.md has no table of required versions"
    assert {name: required.get(name) for name in table} == table
