"""Browser fixtures: one JupyterLab on loopback and one headless Chromium for the whole session.

Tests open copies of notebooks in Lab and use them the way a person does (Run > Run All
Cells, clicks on widgets), then assert on what the page shows. Every test leaves a
screenshot in test-artifacts/e2e/. A test fails on any browser console error (JupyterLab
logs none in a healthy session, so each one comes from our outputs or widgets), and when
the page tries to reach anything but the local server.

Without Chromium (or Playwright) the tests skip with the reason; under CI (LLMPIPE_CI=1)
a missing browser is a failure instead, so CI cannot silently skip the browser suite.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

HERE = Path(__file__).parent
REPO = HERE.parents[1]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
TOKEN = "e2e-token"
VISUAL_JS = (HERE / "visual.js").read_text()
VIEWPORT = {"width": 1280, "height": 800}
#: generous, because a busy two-core CI box can take a while to start a kernel
TIMEOUT_MS = 120_000
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: environment the Lab server and its kernels must not inherit: keys, endpoints, user state
_PRIVATE_ENV = re.compile(r".*(_API_KEY|_BASE_URL|_TOKEN|_SECRET)$|^(OLLAMA_HOST|LLMPIPE_.*)$")
#: Lab settings for a quiet, deterministic page: no news toast, every cell kept in the DOM
_LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def chromium_path() -> str | None:
    """The system Chromium, or $LLMPIPE_CHROMIUM (Playwright's own browser download is not used)."""
    chosen = os.environ.get("LLMPIPE_CHROMIUM")
    if chosen is not None:
        return chosen if Path(chosen).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _missing() -> str | None:
    """Why the browser suite cannot run here, or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[dev]')"
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        return "JupyterLab is not installed (pip install -e '.[dev]')"
    if chromium_path() is None:
        chosen = os.environ.get("LLMPIPE_CHROMIUM")
        if chosen is not None:
            return f"LLMPIPE_CHROMIUM names {chosen}, which is not a file"
        return "Chromium is not installed (apt-get install chromium), or set LLMPIPE_CHROMIUM"
    return None


def unavailable(reason: str) -> None:
    """Skip on a developer machine; fail under CI, where the browser suite must run."""
    if os.environ.get("LLMPIPE_CI") == "1":
        pytest.fail(f"Browser suite cannot run under LLMPIPE_CI=1: {reason}.", pytrace=False)
    pytest.skip(f"Browser suite skipped: {reason}.")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LabServer:
    """A JupyterLab server on 127.0.0.1 serving copies of the notebooks from a temporary root."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.root = base / "root"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = base / "lab.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.copies = 0

    def prepare(self) -> None:
        """Copy the notebooks (Lab autosaves: the originals are never served) and the settings."""
        ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
        shutil.copytree(HERE / "notebooks", self.root / "e2e", ignore=ignore)
        if (REPO / "notebooks").is_dir():
            shutil.copytree(REPO / "notebooks", self.root / "notebooks", ignore=ignore)
        settings = self.base / "config" / "lab" / "user-settings"
        for name, value in _LAB_SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))

    def env(self) -> dict[str, str]:
        """The server's environment, which its kernels inherit: private dirs, no keys."""
        env = {k: v for k, v in os.environ.items() if not _PRIVATE_ENV.match(k)}
        home = self.base / "home"
        home.mkdir(exist_ok=True)
        env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            XDG_CACHE_HOME=str(home / ".cache"),
            JUPYTER_CONFIG_DIR=str(self.base / "config"),
            JUPYTER_DATA_DIR=str(self.base / "data"),
            JUPYTER_RUNTIME_DIR=str(self.base / "runtime"),
            JUPYTER_PLATFORM_DIRS="1",
            IPYTHONDIR=str(self.base / "ipython"),
            MPLBACKEND="module://matplotlib_inline.backend_inline",
            PYTHONDONTWRITEBYTECODE="1",
        )
        return env

    def start(self) -> None:
        self.prepare()
        args = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
            "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={self.root}",
            "--LabApp.extension_manager=readonly", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]  # fmt: skip
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(args, env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while True:
            try:
                self.api("GET", "/api/status")
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"JupyterLab did not start:\n{self.log.read_text()}"
                    ) from None
                time.sleep(0.25)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()  # the server shuts its kernels down on SIGTERM
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the server's REST API with the token; returns the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def fresh_copy(self, path: str) -> str:
        """A new copy of the notebook at `path`, so that each page runs it in its own kernel."""
        self.copies += 1
        source = PurePosixPath(path)
        copy = source.with_name(f"{source.stem}-{self.copies}{source.suffix}")
        shutil.copyfile(self.root / source, self.root / copy)
        return str(copy)

    def shutdown_kernels(self, paths: Iterable[str]) -> None:
        """End the kernels of these notebooks, so the next test that opens one starts afresh."""
        wanted = set(paths)
        for session in self.api("GET", "/api/sessions"):
            if session["path"] in wanted:
                self.api("DELETE", f"/api/sessions/{session['id']}")

    def set_theme(self, theme: str) -> None:
        """Switch Lab's theme for pages opened from now on ("JupyterLab Light" / "JupyterLab Dark")."""
        raw = json.dumps({"theme": theme})
        self.api("PUT", "/lab/api/settings/@jupyterlab/apputils-extension:themes", {"raw": raw})


# Runs each code cell's prompt through the DOM: "[*]" while queued or running, "[n]" when done.
_RUN_STATE_JS = """() => {
  const cells = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell')];
  const prompts = cells.map(c => (c.querySelector('.jp-InputPrompt') || {}).textContent || '');
  return {total: cells.length, running: prompts.filter(p => p.includes('*')).length,
          done: prompts.filter(p => /\\[\\d+\\]/.test(p)).length};
}"""

_WIDGETS_SETTLED_JS = """() => ![...document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output')]
  .some(out => out.textContent.trim() === 'Loading widget...')"""


class Notebook:
    """A notebook open in Lab: run it, find its cells' outputs, take screenshots."""

    def __init__(self, page: Any, lab: LabServer | None, name: str) -> None:
        self.page = page
        self.lab = lab
        self.name = name
        self.console: list[str] = []
        self.opened: list[str] = []
        self.outside_requests: list[str] = []

    # -- opening and running ---------------------------------------------------------
    def open(self, path: str) -> Notebook:
        """Open a fresh copy of `path` (relative to the server root); wait for its kernel."""
        from playwright.sync_api import expect

        assert self.lab is not None, "an offline page has no Lab server"
        copy = self.lab.fresh_copy(path)
        self.opened.append(copy)
        self.page.goto(f"{self.lab.url}/lab/tree/{copy}?token={TOKEN}&reset")
        expect(self.page.locator(".jp-NotebookPanel .jp-Cell").first).to_be_visible()
        self.wait_idle()
        return self

    def wait_idle(self) -> None:
        from playwright.sync_api import expect

        expect(self.page.get_by_text("| Idle")).to_be_visible(timeout=TIMEOUT_MS)

    def menu(self, *names: str) -> None:
        """Click through the main menu, e.g. `menu("Run", "Run All Cells")`."""
        for name in names:
            self.page.get_by_role("menuitem", name=name, exact=True).click()

    def run_all(self) -> None:
        """Run > Run All Cells, wait until every code cell has run, and fail on a traceback."""
        self.menu("Run", "Run All Cells")
        self.wait_cells_done()

    def wait_cells_done(self, timeout_ms: int = TIMEOUT_MS) -> None:
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            state = self.page.evaluate(_RUN_STATE_JS)
            if state["total"] and not state["running"]:
                if state["done"] == state["total"]:
                    break
                # Lab clears the queue after a failing cell: the rest never get a number
                if state["done"]:
                    self.fail_on_errors()
            if time.monotonic() > deadline:
                self.screenshot(f"{self.name}-timeout")
                raise AssertionError(f"cells did not finish running in {timeout_ms} ms: {state}")
            self.page.wait_for_timeout(100)
        self.wait_idle()
        # widget views are drawn (or fail to be) after their cell has finished
        self.page.wait_for_function(_WIDGETS_SETTLED_JS, timeout=timeout_ms)
        self.fail_on_errors()

    def error_outputs(self) -> list[str]:
        """Every traceback, usage error or widget that failed to draw, as shown in the notebook."""
        panel = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        texts = panel.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
        ).all_inner_texts()
        errors = [t for t in texts if "Traceback" in t or re.search(r"^\w*Error\b", t, re.M)]
        widgets = panel.locator(".jp-OutputArea-output", has_text="Error displaying widget")
        return errors + widgets.all_inner_texts()

    def fail_on_errors(self) -> None:
        errors = self.error_outputs()
        if errors:
            self.screenshot(f"{self.name}-cell-error")
            raise AssertionError("a notebook cell failed:\n" + "\n\n".join(errors))

    # -- finding things --------------------------------------------------------------
    def cell(self, tag: str) -> Any:
        """The code cell whose source starts with the comment `# e2e: <tag>`."""
        return (
            self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell")
            .filter(has=self.page.locator(".jp-InputArea", has_text=f"# e2e: {tag}"))
            .first
        )

    def output(self, tag: str) -> Any:
        """The output area of the cell tagged `tag`."""
        return self.cell(tag).locator(".jp-OutputArea")

    def code_cell(self, source_fragment: str) -> Any:
        """The first code cell whose source contains `source_fragment`."""
        return (
            self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell")
            .filter(has=self.page.locator(".jp-InputArea", has_text=source_fragment))
            .first
        )

    # -- looking right ---------------------------------------------------------------
    def visual_problems(self, view: Any) -> dict[str, Any]:
        """Contrast (WCAG AA) and overflow problems of each element matched by `view`.

        Returns {"checked": texts measured, "contrast": [...], "overflow": [...]}, summed over
        every match, so a test can assert both lists are empty and report what it measured.
        """
        total: dict[str, Any] = {"checked": 0, "unmeasurable": 0, "contrast": [], "overflow": []}
        for found in view.all():
            result = found.evaluate(VISUAL_JS)
            for key in total:
                total[key] += result[key]
        return total

    # -- evidence --------------------------------------------------------------------
    def screenshot(self, name: str, target: Any = None, full_page: bool = False) -> Path:
        """Save a PNG of the page (or of one locator) to test-artifacts/e2e/<name>.png."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        if target is None:
            self.page.screenshot(path=str(path), full_page=full_page)
            return path
        # Lab scrolls the notebook inside its own panel: a cell taller than the window is only
        # drawn whole if the window is made taller for the picture (its width stays the same).
        viewport = self.page.viewport_size
        box = target.bounding_box()
        if box and viewport and box["height"] + 200 > viewport["height"]:
            self.page.set_viewport_size({**viewport, "height": int(box["height"]) + 300})
            self.page.wait_for_timeout(200)
        try:
            target.scroll_into_view_if_needed()
            target.screenshot(path=str(path))
        finally:
            if viewport:
                self.page.set_viewport_size(viewport)
        return path


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test item, so fixtures can react to a failed test."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """One JupyterLab server for the session, on a free loopback port, in temporary dirs."""
    reason = _missing()
    if reason:
        unavailable(reason)
    server = LabServer(tmp_path_factory.mktemp("lab"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(lab: LabServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless system Chromium for the session, writing nothing to the real home dir."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # this run's pictures only
    home = tmp_path_factory.mktemp("chromium-home")
    env = dict(os.environ, XDG_CONFIG_HOME=str(home / "config"), XDG_CACHE_HOME=str(home / "cache"))
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), env=env, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def expect(browser: Any) -> Any:
    """Playwright's `expect`, once the browser is known to be there."""
    from playwright.sync_api import expect

    return expect


def _watched(
    request: pytest.FixtureRequest, browser: Any, lab: LabServer | None
) -> Iterator[Notebook]:
    """A fresh page that records console errors and every request that is not local.

    With `lab`, the page talks to that server; without, it is offline: only file:// loads,
    anything else is blocked (and recorded).
    """
    context = browser.new_context(viewport=VIEWPORT)
    local = (lab.url if lab else "file:", "data:", "blob:", "about:")
    nb = Notebook(context.new_page(), lab, request.node.name)
    nb.page.set_default_timeout(60_000)

    def on_console(msg: Any) -> None:
        if msg.type == "error":
            where = msg.location.get("url", "")
            nb.console.append(f"{msg.text} ({where})" if where else msg.text)

    def on_route(route: Any) -> None:
        if route.request.url.startswith(local):
            route.continue_()
        else:
            nb.outside_requests.append(route.request.url)
            route.abort()

    def on_request(req: Any) -> None:
        if not req.url.startswith(local):
            nb.outside_requests.append(req.url)

    nb.page.on("console", on_console)
    nb.page.on("pageerror", lambda error: nb.console.append(f"uncaught: {error}"))
    if lab is None:
        context.route("**/*", on_route)
    else:
        nb.page.on("request", on_request)  # watching, not routing: Lab loads hundreds of files
    try:
        yield nb
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            nb.screenshot(f"{nb.name}-FAILED")
        context.close()
        if lab is not None:
            lab.shutdown_kernels(nb.opened)
    assert not nb.console, "browser console errors:\n" + "\n".join(nb.console)
    assert not nb.outside_requests, "the page reached outside: " + ", ".join(nb.outside_requests)


@pytest.fixture(scope="session")
def watched_page(browser: Any) -> Any:
    """For fixtures of a wider scope: `with watched_page(request, lab) as notebook: ...`."""
    return lambda request, lab: contextmanager(_watched)(request, browser, lab)


@pytest.fixture
def notebook(request: pytest.FixtureRequest, lab: LabServer, browser: Any) -> Iterator[Notebook]:
    """A fresh page on the Lab server; console errors or outside requests fail the test."""
    yield from _watched(request, browser, lab)


@pytest.fixture
def offline_page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Notebook]:
    """A fresh page that may load file:// URLs only; console errors fail the test."""
    yield from _watched(request, browser, None)


@pytest.fixture(scope="session")
def e2e(request: pytest.FixtureRequest, lab: LabServer, watched_page: Any) -> Iterator[Notebook]:
    """The e2e notebook, opened and run once for every test that only looks at it or clicks."""
    with watched_page(request, lab) as notebook:
        notebook.name = "e2e"
        notebook.open("e2e/e2e.ipynb")
        notebook.run_all()
        yield notebook
