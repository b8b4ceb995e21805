"""Fixtures for batch tests: a real Redis, a 2-worker Dask LocalCluster, the OpenAI fake server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid

import pytest

import llmpipe_nb as llm
from llmpipe_nb.providers._http import close_transports
from llmpipe_nb.testing import FakeServer

TEST_KEY = "sk-batch-test-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pings(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """$LLMPIPE_REDIS_URL (as CI starts it), else a redis-server of our own on a free port."""
    url = os.environ.get("LLMPIPE_REDIS_URL", "redis://127.0.0.1:6379/0")
    if _pings(url):
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs Redis: install redis-server or set LLMPIPE_REDIS_URL")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not _pings(url):
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("redis-server did not start within 10 s")
        time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(5)


@pytest.fixture
def redis_cache(redis_url):
    """Cache options for a Redis namespace of this test alone."""
    return {"store": "redis", "url": redis_url, "namespace": f"batch-test-{uuid.uuid4().hex}"}


@pytest.fixture(scope="session")
def dask_client(tmp_path_factory):
    """A 2-worker LocalCluster (separate processes), started offline with no keys."""
    distributed = pytest.importorskip("distributed")
    home = tmp_path_factory.mktemp("dask-home")
    with pytest.MonkeyPatch.context() as mp:
        for var in list(os.environ):
            if var.endswith(("_API_KEY", "_BASE_URL")) or var == "LLMPIPE_LEDGER":
                mp.delenv(var)
        mp.setenv("HOME", str(home))
        cluster = distributed.LocalCluster(
            # its web server on a free port: a taken 8787 makes tornado leak the socket it tried
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
        )
        client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture
def openai_fake():
    """The OpenAI fake server, with llm.configure pointing the openai provider at it."""
    with FakeServer("openai") as server:
        llm.configure("openai", base_url=server.base_url, api_key=TEST_KEY)
        yield server
    close_transports()


@pytest.fixture
def mock():
    return llm.providers.get("mock")


@pytest.fixture(autouse=True)
def fresh_ledger():
    llm.ledger().reset()
    yield
    llm.ledger().reset()
