"""A TCP port that stands in for a serial port: the simulated board's UART, bridged to a socket.

The host reaches it exactly as it reaches a board, with pyserial's ``socket://host:port`` URL.
One client at a time (like a serial port); when it disconnects, the next may connect. Socket I/O
runs in threads; the simulation polls :meth:`TCPBridge.take` and calls :meth:`TCPBridge.send`
without blocking on the network, or, when it has nothing to do until the host speaks, blocks in
:meth:`TCPBridge.wait`, which returns as soon as bytes arrive. Small writes go out at once
(``TCP_NODELAY``): the host never waits for Nagle's algorithm and a delayed acknowledgement
(40 ms per answer on Linux).
"""

import logging
import queue
import socket
import threading

from ropuf.spec.errors import InputError

__all__ = ["TCPBridge"]

logger = logging.getLogger(__name__)


class TCPBridge:
    """Listen on *host*:*port* and move bytes between one client and the simulation.

    Parameters
    ----------
    port : int
        TCP port; 0 picks a free one (see :attr:`port`).
    host : str
        Address to listen on; loopback by default, so the simulated board is not on the network.
    """

    def __init__(self, port: int, host: str = "127.0.0.1"):
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise InputError(f"TCP port must be in 0..65535, not {port!r}")
        self._server = socket.create_server((host, port))
        self._server.settimeout(0.2)
        self.port: int = self._server.getsockname()[1]
        self.host = host
        self._incoming: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._client: socket.socket | None = None
        #: Clients accepted so far (a change tells the simulation a new client came).
        self.connections = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="ropuf-bridge", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The pyserial URL of this port."""
        return f"socket://{self.host}:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, address = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            logger.info("client %s connected", address)
            client.settimeout(0.2)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._client = client
                self.connections += 1
            while not self._stop.is_set():
                try:
                    data = client.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not data:
                    break
                self._incoming.put(data)
            with self._lock:
                self._client = None
            client.close()
            logger.info("client %s disconnected", address)

    def take(self) -> bytes:
        """All bytes received from the client since the last call (never blocks)."""
        chunks = []
        while True:
            try:
                chunks.append(self._incoming.get_nowait())
            except queue.Empty:
                return b"".join(chunks)

    def wait(self, timeout: float) -> bytes:
        """Like :meth:`take`, but when nothing has arrived, block until bytes arrive or *timeout*
        seconds pass (then ``b""``)."""
        try:
            first = self._incoming.get(timeout=timeout)
        except queue.Empty:
            return b""
        return first + self.take()

    def send(self, data: bytes) -> None:
        """Send *data* to the client; dropped when no client is connected (like a serial line)."""
        with self._lock:
            client = self._client
        if client is None:
            return
        try:
            client.sendall(data)
        except OSError:
            logger.info("client went away while sending")

    def close(self) -> None:
        """Stop listening and disconnect the client."""
        self._stop.set()
        self._server.close()
        self._thread.join(timeout=2)
