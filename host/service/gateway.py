"""The gateway: a local device attested by a remote verifier service (``ropuf attest
--server``).

The gateway holds the serial port (or a simulated device), the service holds the registry:
the gateway asks the service for a challenge, which carries the device's public helper data,
has the device load it, reconstruct its key and MAC the nonce, and posts the answer; the
verdict is the service's. The gateway sees no key.
"""

import os

import httpx

from ropuf.host.attestation import AttestationResult, KeyDevice
from ropuf.spec.errors import RopufError

__all__ = ["TOKEN_ENV", "GatewayError", "attest_through", "service_client", "token_from_env"]

#: Environment variable holding the service token, if none is given on the command line.
TOKEN_ENV = "ROPUF_TOKEN"


class GatewayError(RopufError):
    """The service could not be reached or refused the request; the message says why."""


def token_from_env(token: str | None) -> str:
    """*token*, else ``$ROPUF_TOKEN``.

    Raises
    ------
    GatewayError
        Neither is set.
    """
    token = token or os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise GatewayError(
            f"no service token: set {TOKEN_ENV} (the service's owner makes one with "
            "'ropuf registry token create')"
        )
    return token


def service_client(server: str, token: str, *, timeout: float = 30.0) -> httpx.Client:
    """An HTTP client of the service at *server* (``http://host:port``) sending *token*."""
    if not server.startswith(("http://", "https://")):
        raise GatewayError(f"--server takes http://HOST:PORT or https://..., not {server!r}")
    return httpx.Client(
        base_url=server, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
    )


def _post(http: httpx.Client, path: str, body: dict) -> dict:
    """POST *body* to *path*; the answer's JSON, or a :class:`GatewayError` with the
    service's own error message."""
    try:
        response = http.post(path, json=body)
    except httpx.HTTPError as exc:
        raise GatewayError(f"cannot reach the service at {http.base_url}: {exc}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.is_success and isinstance(answer, dict):
        return answer
    if isinstance(answer, dict) and "message" in answer:
        detail = f"{answer.get('error')}: {answer['message']}"
    else:
        detail = response.text[:200]
    raise GatewayError(f"the service refused {path} (HTTP {response.status_code}) {detail}")


def attest_through(http: httpx.Client, device_id: str, device: KeyDevice) -> AttestationResult:
    """Attest the local *device* as *device_id* through the service behind *http*.

    A device or link fault is a failed result (its challenge then expires unused).

    Raises
    ------
    GatewayError
        The service is unreachable or refused a request (unknown device, bad token, ...).
    """
    challenge = _post(http, "/v1/challenges", {"device_id": device_id})
    nonce = bytes.fromhex(challenge["nonce"])
    try:
        device.load_helper(bytes.fromhex(challenge["helper_data"]))
        device.reconstruct()
        mac = device.attest(nonce)
    except (RopufError, OSError) as exc:  # device and link errors; a bug keeps its traceback
        return AttestationResult(device_id, False, f"device error: {exc}")
    verdict = _post(
        http, "/v1/attestations", {"device_id": device_id, "nonce": nonce.hex(), "mac": mac.hex()}
    )
    return AttestationResult(verdict["device_id"], verdict["ok"], verdict["reason"])
