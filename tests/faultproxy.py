"""A small TCP proxy between the app and MariaDB that a test can cut and restore at will."""

from __future__ import annotations

import contextlib
import socket
import threading


class FaultProxy:
    """Forwards 127.0.0.1:<port> to the target. ``cut()`` drops every open connection and refuses new
    ones until ``restore()``; the test's own traffic never leaves the loopback interface."""

    def __init__(self, target_host: str = "127.0.0.1", target_port: int = 3306) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._up = True
        self._swallow_replies = False
        self._closed = False
        self._thread = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)
        self._thread.start()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                up = self._up
            if not up:
                client.close()
                continue
            try:
                server = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._open += [client, server]
            for source, sink, replies in ((client, server, False), (server, client, True)):
                threading.Thread(target=self._pump, args=(source, sink, replies), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, replies: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if replies and self._swallow_replies:
                    continue  # the server did the work; its answer never reaches the client
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self._lock:
            self._up = False
            doomed, self._open = self._open, []
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def swallow_replies(self) -> None:
        """From now on the server's answers are dropped (what a client sees when the node dies right
        after committing): the client waits until ``cut()`` ends its connection."""
        self._swallow_replies = True

    def restore(self) -> None:
        with self._lock:
            self._up = True
            self._swallow_replies = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()
