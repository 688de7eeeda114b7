"""The gateway: a local device attested by a remote verifier service (``ropuf attest
--server``).

The gateway holds the serial port (or a simulated device), the service holds the registry:
the gateway asks the service for a challenge, which carries the device's public helper data,
has the device load it, reconstruct its key and MAC the nonce (or, with the signature method,
sign it in the attestation domain: the service checks the device's certificate), and posts the
answer; the verdict is the service's. The gateway sees no key.
"""

import os

import httpx

from ropuf.host.attestation import AttestationResult
from ropuf.host.signature_attestation import SignatureDevice
from ropuf.spec.errors import RopufError
from ropuf.spec.identity import SignDomain

from .signatures import METHOD_HMAC, METHOD_SIGNATURE

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


def attest_through(
    http: httpx.Client, device_id: str, device: SignatureDevice, *, method: str | None = None
) -> AttestationResult:
    """Attest the local *device* as *device_id* through the service behind *http*, by
    *method*: ``hmac`` (the device MACs the nonce) or ``signature`` (it signs the nonce in the
    attestation domain; the service checks its certificate); None: signature when the
    service's challenge offers it for the device, else hmac. The result names the method.

    A device or link fault is a failed result (its challenge then expires unused).

    Raises
    ------
    GatewayError
        The service is unreachable or refused a request (unknown device, bad token, ...), or
        its challenge says the device cannot answer by *method*.
    """
    if method not in (None, METHOD_HMAC, METHOD_SIGNATURE):
        raise GatewayError(f"the method is {METHOD_HMAC} or {METHOD_SIGNATURE}, not {method!r}")
    challenge = _post(http, "/v1/challenges", {"device_id": device_id})
    methods = challenge.get("methods", [METHOD_HMAC])
    if method is None:
        method = METHOD_SIGNATURE if METHOD_SIGNATURE in methods else METHOD_HMAC
    if method not in methods:
        raise GatewayError(
            f"the service cannot check a {method} of {device_id!r} (it offers "
            f"{', '.join(methods)}): the device has no live certificate from an owner CA the "
            "service trusts ('ropuf serve --owner-ca-cert'); attest with --method hmac"
        )
    nonce = bytes.fromhex(challenge["nonce"])
    try:
        device.load_helper(bytes.fromhex(challenge["helper_data"]))
        device.reconstruct()
        if method == METHOD_SIGNATURE:
            answer = {"signature": device.sign(SignDomain.ATTESTATION, nonce).hex()}
        else:
            answer = {"mac": device.attest(nonce).hex()}
    except (RopufError, OSError) as exc:  # device and link errors; a bug keeps its traceback
        return AttestationResult(device_id, False, f"device error: {exc}", method)
    verdict = _post(
        http, "/v1/attestations", {"device_id": device_id, "nonce": nonce.hex(), **answer}
    )
    return AttestationResult(verdict["device_id"], verdict["ok"], verdict["reason"], method)
