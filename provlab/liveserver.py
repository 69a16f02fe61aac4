"""A real HTTP server (waitress) serving a WSGI app on a loopback port, in a thread.

Scenarios over the ``http`` transport, benchmarks and the test suite's live servers use it.
"""

from __future__ import annotations

import threading
from typing import Any

import waitress.server


class LiveServer:
    def __init__(self, app: Any, threads: int = 8, **limits: int) -> None:
        from provlab.serve import SERVER_LIMITS  # the same limits as `provlab up`'s servers

        self.app = app
        self._server: Any = waitress.server.create_server(
            app, host="127.0.0.1", port=0, threads=threads, **(SERVER_LIMITS | limits)
        )
        self.url = f"http://127.0.0.1:{self._server.effective_port}"
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        # Closing only the listening socket leaves keep-alive connections (a browser's) in
        # waitress's loop, which then never ends. Stop the workers first (a request still
        # finishing wakes the loop through the trigger), then close every channel from inside
        # the loop's own thread (closing sockets under its poll() fails with EBADF).
        server = self._server
        server.task_dispatcher.shutdown()

        def close_everything() -> None:
            for channel in list(server._map.values()):
                if channel is not server.trigger and channel is not server:
                    channel.handle_close()
            server.close()

        try:
            server.trigger.pull_trigger(close_everything)
        except OSError:
            # EBADF: the loop has already ended and closed its trigger (it closed its channels
            # as it did); a loop still running is caught by the join below.
            pass
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            raise RuntimeError(f"the live server at {self.url} did not stop")
