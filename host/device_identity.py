"""The owner certifies a device's identity through the device itself: IDENTITY, a request the
device signs, the owner CA's certificate, and the registry's record of it.

* :func:`certify_device`: read the device's public key (IDENTITY), have it sign the PKCS #10
  request (SIGN, generic domain: it signs the request info's SHA-256 as given), and issue the
  certificate under the owner CA with the build id INFO reports. None for a build without the
  identity (IDENTITY answers UNKNOWN_COMMAND): it is enrolled as before, with no certificate.
* :func:`transfer_device`: the new owner's CA certifies the same public key from a fresh
  request the device signs after reconstructing its key; the registry revokes the previous
  certificate in the transaction that stores the new one.

The device signs the request in SIGN's GENERIC domain, which only an enrollment build before
LOCK serves (:func:`ropuf.spec.identity.generic_sign_allowed`; docs/identity.md): enrollment
certifies before it locks, and a transfer needs the device's enrollment build, unlocked
(:func:`transfer_device` asks INFO first and refuses a locked or deployment build before any
other request, with nothing stored).

The device must hold its key (a successful RECONSTRUCT) first. IDENTITY and SIGN take tens of
milliseconds on a board at 25 MHz and about 2 s of wall time each on the simulated board: the
client's timeout (120 s for a ``socket://`` board) must allow that.
"""

import time

from cryptography import x509

from ropuf.spec.commands import Status
from ropuf.spec.identity import SIGNATURE_BYTES, SignDomain, generic_sign_allowed

from .client import DeviceClient, UnknownCommandError, device_error
from .identity import (
    DeviceSigner,
    IdentityError,
    OwnerCA,
    build_device_request,
    issue_device_certificate,
    transfer_device_certificate,
)
from .registry import Registry, RegistryError

__all__ = ["certify_device", "device_signer", "split_signature", "transfer_device"]


def split_signature(signature: bytes) -> tuple[int, int]:
    """``(r, s)`` of SIGN's 64-byte answer ``r || s``."""
    if len(signature) != SIGNATURE_BYTES:
        raise IdentityError(f"a signature is {SIGNATURE_BYTES} bytes r || s, not {len(signature)}")
    half = SIGNATURE_BYTES // 2
    return int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")


def device_signer(client: DeviceClient) -> DeviceSigner:
    """A :data:`~ropuf.host.identity.DeviceSigner` that asks the device (SIGN, generic domain)."""
    return lambda digest: split_signature(client.sign(SignDomain.GENERIC, digest))


def certify_device(
    client: DeviceClient, device_id: str, ca: OwnerCA, build_id: bytes
) -> x509.Certificate | None:
    """The certificate *ca* issues to the device behind *client* (holding its key) as
    *device_id* with *build_id*; None when the build has no identity.

    Raises
    ------
    RefusedError
        The device signed with another key than the one it reported (BAD_REQUEST_SIGNATURE).
    IdentityError
        The owner CA is not valid now.
    """
    try:
        point = client.identity()
    except UnknownCommandError:
        return None
    request = build_device_request(device_id, point, device_signer(client))
    return issue_device_certificate(ca, request, build_id, device_id=device_id, point=point)


def transfer_device(
    registry: Registry, device_id: str, client: DeviceClient, new_ca: OwnerCA
) -> x509.Certificate:
    """Certify *device_id* under *new_ca* from a fresh request of the device behind *client*
    (its helper data from the registry, then RECONSTRUCT), store the new certificate and revoke
    the old one in one transaction; returns the new certificate.

    Raises
    ------
    RegistryError
        The device is not enrolled, has no certificate, or its certificate was revoked (a
        revoked device is not transferred).
    DeviceLockedError
        The device runs a locked enrollment build or a deployment build, which sign no
        request (INFO's mode, checked first; the device would answer SIGN with LOCKED): load
        its enrollment bitstream and transfer before LOCK. Nothing is stored or revoked.
    RefusedError
        The device's key is not the certified one (KEY_MISMATCH).
    """
    stored = registry.certificate(device_id)
    if stored is None:
        raise RegistryError(
            f"device {device_id!r} has no certificate in {registry.path}: enrol it with an "
            "owner CA (ropuf enroll --owner-ca-key/--owner-ca-cert) before transferring it"
        )
    if stored.revoked_at is not None:
        raise RegistryError(f"device {device_id!r} is revoked: a revoked device is not transferred")
    if not generic_sign_allowed(client.info().mode):
        # What SIGN would answer, before the seconds of RECONSTRUCT and IDENTITY.
        raise device_error(Status.LOCKED, "SIGN")
    client.load_helper(registry.record(device_id).helper_data)
    client.reconstruct()
    point = client.identity()
    request = build_device_request(device_id, point, device_signer(client))
    certificate = transfer_device_certificate(stored.certificate, new_ca, request)
    registry.add_certificate(device_id, certificate, new_ca.certificate, time.time())
    return certificate
