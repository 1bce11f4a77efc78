"""Serve an app from a background thread on a free port of 127.0.0.1 (tests, notebooks, scripts)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

# Debian's Chromium, headless, as the browser test and the screenshot script start it: without
# the background-networking flags it keeps trying to reach Google's hosts from a closed network
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)


class BackgroundServer:
    """uvicorn serving ``app`` from a daemon thread; ``url`` is where. A context manager: it waits
    until the server accepts requests, and on exit shuts it down gracefully (the app's lifespan
    shutdown runs)."""

    def __init__(self, app: Any, *, start_timeout: float = 30.0) -> None:
        import uvicorn

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.start_timeout = start_timeout
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the server did not start within {self.start_timeout} s")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.socket.close()
