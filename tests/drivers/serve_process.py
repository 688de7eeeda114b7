"""``ropuf serve`` in a child process on a free 127.0.0.1 port, for the tests and the service
benchmark: start, wait until it answers, stop (SIGINT) or kill (SIGKILL). Its output goes to a
file, read back when it fails to start."""

import signal
import socket
import subprocess
import sys
import tempfile
import time

import httpx

__all__ = ["ServeProcess", "free_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServeProcess:
    """``ropuf serve REGISTRY_ARGS --port PORT`` (a free port unless given), started at once;
    :meth:`wait_ready` before use, :meth:`stop` at the end."""

    def __init__(self, registry_args: list[str], port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ropuf.cli.main", "serve", *registry_args,
             "--port", str(self.port), "--log-level", "warning"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 60) -> None:
        """Return once ``/openapi.json`` answers; RuntimeError with the output if the process
        ends or *timeout* seconds pass first."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.url + "/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                self._log.seek(0)
                output = self._log.read().decode(errors="replace")
                raise RuntimeError(f"ropuf serve did not start: {output}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind in the server."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """SIGINT (uvicorn's clean shutdown), SIGKILL after 15 s; closes the output file."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
