"""`--format html` in a real browser: the model's HTML shows, but runs and fetches nothing."""

from __future__ import annotations

import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from llmpipe_nb import views

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs a headless Chromium (.ci/run installs it)"),
]


@pytest.fixture
def server():
    """A loopback server that serves one page and counts every other request."""
    hits: list[str] = []
    page: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/page":
                body = page["html"]
            else:
                if self.path != "/favicon.ico":  # the browser asks for it on its own
                    hits.append(self.path)
                body = b""
            self.send_response(200)
            self.send_header("Content-Type", "text/html" if self.path == "/page" else "image/png")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}", page, hits
    httpd.shutdown()
    httpd.server_close()


def load(url, tmp_path):
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path}",
            "--virtual-time-budget=3000",
            f"--screenshot={tmp_path / 'shot.png'}",
            url,
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_model_html_runs_and_fetches_nothing(server, tmp_path):
    base, page, hits = server
    model_html = (
        f'<p>hello</p><img src="{base}/img">'
        f'<script>fetch("{base}/script"); new Image().src = "{base}/script-img";</script>'
    )
    page["html"] = views.frame(views.answer_html(model_html, "html")).encode()
    load(f"{base}/page", tmp_path / "a")
    assert hits == []

    # the same HTML outside the sandbox does reach the server: the check above can fail
    page["html"] = model_html.encode()
    load(f"{base}/page", tmp_path / "b")
    assert "/img" in hits and "/script" in hits
