"""Every test runs offline, with no provider keys and a private home directory."""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import subprocess
import sys
import tracemalloc

import pytest

import llmpipe_nb as llm
from llmpipe_nb import config, pricing

pytest_plugins = ["llmpipe_nb.testing.pytest_plugin"]

_KEY_SUFFIXES = ("_API_KEY", "_BASE_URL")
_OTHER_VARS = (
    "OLLAMA_HOST",
    "GOOGLE_API_KEY",
    "LLMPIPE_PROVIDER",
    "LLMPIPE_LEDGER",
    "LLMPIPE_TRANSPORT",
)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No keys, no user config, a fresh mock and fresh prices for every test."""
    for var in list(os.environ):
        if var.endswith(_KEY_SUFFIXES) or var in _OTHER_VARS:
            monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(name, str(home / name.lower()))
    config.reset_configuration()
    pricing.clear_prices()
    mock = llm.providers.get("mock")
    mock.reset()
    yield
    mock.reset()
    config.reset_configuration()


@pytest.fixture
def fresh_ledger():
    """The process ledger, unpersisted and empty, and so again after the test."""
    ledger = llm.ledger()
    ledger.persist(None)
    ledger.reset()
    yield ledger
    ledger.persist(None)
    ledger.reset()


@pytest.fixture
def fresh_python():
    """`fresh_python(code)` runs `code` in a new interpreter, to see what importing loads or
    what a process does at exit; its output comes back as text, a failure raises."""

    def run(code: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )

    return run


@pytest.fixture
def aws_static_credentials(monkeypatch):
    """The Bedrock fake's static test credentials in the environment; no profile, session
    token, bearer token or instance metadata from the machine."""
    from llmpipe_nb.testing.bedrock_wire import ACCESS_KEY, SECRET_KEY

    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_REGION",
        "AWS_SESSION_TOKEN",
        "AWS_BEARER_TOKEN_BEDROCK",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.fixture
def redis_url():
    """The tests' Redis server; absent Redis skips locally but fails in CI."""
    import redis

    from llmpipe_nb.stores.redis_store import DEFAULT_URL, URL_ENV

    url = os.environ.get(URL_ENV) or DEFAULT_URL
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        if os.environ.get("LLMPIPE_CI"):
            pytest.fail(f"Redis is required in CI but {url} does not answer: {error}")
        pytest.skip(f"no Redis at {url}")
    return url


@pytest.fixture(scope="module")
def kernel_home(tmp_path_factory):
    """(home, env) for a Jupyter kernel: a fresh home holding IPython's and Jupyter's files,
    and this environment without provider keys or llmpipe settings."""
    home = tmp_path_factory.mktemp("kernel-home")
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not (k.endswith("_API_KEY") or k.startswith("LLMPIPE_"))
        },
        "HOME": str(home),
        "IPYTHONDIR": str(home / "ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    return home, env


#: imported before the tests run, so their import-time objects are frozen out of the
#: garbage collections below (each would cost ~100 ms instead of ~1 ms otherwise)
_HEAVY = ("httpx2", "pandas", "IPython", "ipywidgets", "matplotlib", "markdown_it", "rich.console")
TRACEMALLOC_ENV = "LLMPIPE_TRACEMALLOC"


def pytest_collection_finish(session):
    """Freeze what exists before the first test, and trace allocations if asked to:
    `LLMPIPE_TRACEMALLOC=25` makes a ResourceWarning name the line (25 frames deep) that
    opened the socket or file; it slows the run about tenfold, so it is off by default."""
    for name in _HEAVY:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    pricing.cost_for("openai", "gpt-4o-mini", llm.Usage(1, 1))  # loads the price table
    gc.collect()
    gc.freeze()
    frames = int(os.environ.get(TRACEMALLOC_ENV) or 0)
    if frames and not tracemalloc.is_tracing():
        tracemalloc.start(frames)


@pytest.fixture(autouse=True)
def collect_leaks():
    """Collect garbage after each test, so what it left open warns in that test, not later."""
    yield
    gc.collect()


def pytest_terminal_summary(terminalreporter):
    """Say how to find where a leaked socket or file was opened."""
    failed = terminalreporter.stats.get("failed", []) + terminalreporter.stats.get("error", [])
    if not tracemalloc.is_tracing() and any(
        "ResourceWarning" in str(report.longrepr) for report in failed
    ):
        terminalreporter.write_line(
            f"A test left a socket or file open: rerun it with {TRACEMALLOC_ENV}=25 "
            "to see the line that opened it."
        )


def pytest_collection_modifyitems(items):
    """Browser tests keep one Playwright session (with its own event loop in this thread)
    open until the end of the run, so they run last, after every asyncio test."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)
