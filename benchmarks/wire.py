"""A loopback TCP relay that counts the bytes a client sends and receives (a helper of the S3
benchmarks: the client talks to the relay, the relay to moto's server)."""

from __future__ import annotations

import contextlib
import socket
import threading


class CountingRelay:
    """Listens on 127.0.0.1 (``url``), relays each connection to ``upstream``, and counts the bytes
    in each direction: ``sent`` (client to server) and ``received`` (server to client)."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self.sent = 0
        self.received = 0
        self._open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> tuple[int, int]:
        """Return (sent, received) so far and start counting from zero."""
        with self._lock:
            counts = (self.sent, self.received)
            self.sent = self.received = 0
        return counts

    def _count(self, upstream: bool, n: int) -> None:
        with self._lock:
            if upstream:
                self.sent += n
            else:
                self.received += n

    def _accept(self) -> None:
        while self._open:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._upstream)
            for source, sink, upstream in ((client, server, True), (server, client, False)):
                threading.Thread(
                    target=self._pipe, args=(source, sink, upstream), daemon=True
                ).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, upstream: bool) -> None:
        try:
            while data := source.recv(1 << 20):
                self._count(upstream, len(data))
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._open = False
        self._listener.close()
