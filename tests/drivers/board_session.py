"""Requests to a device through a host client, each answer kept as ``(status, payload)``: the
board tests send the same list to the simulated board and to the fast model and compare."""

from ropuf.host.client import DeviceError
from ropuf.spec.commands import Status


def send_all(client, requests) -> list[tuple[int, bytes]]:
    """``(status, payload)`` of each ``(command, payload)`` in *requests*, sent in order:
    ``(Status.OK, answer)``, or the error status and ``b""``."""
    out = []
    for code, payload in requests:
        try:
            out.append((Status.OK, client.request(code, payload)))
        except DeviceError as error:
            out.append((error.status, b""))
    return out
