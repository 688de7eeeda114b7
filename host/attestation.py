"""The attestation verifier: fresh nonces, constant-time MAC checks, no nonce accepted twice."""

import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from ropuf.spec.attestation import MAC_BYTES, NONCE_BYTES, attestation_mac

from .registry import Registry, RegistryError

__all__ = ["AttestationResult", "Attester", "KeyDevice", "Verifier"]

logger = logging.getLogger(__name__)


class Attester(Protocol):
    """Anything that answers a nonce with a MAC: a device client, a simulated or fast device."""

    def attest(self, nonce: bytes) -> bytes: ...


class KeyDevice(Attester, Protocol):
    """A device that reconstructs its key from helper data first (a device client)."""

    def load_helper(self, record: bytes) -> None: ...

    def reconstruct(self) -> None: ...


@dataclass(frozen=True)
class AttestationResult:
    """The verdict on one device.

    Attributes
    ----------
    device_id : str
    ok : bool
        True only when the MAC matched for a fresh nonce.
    reason : str
        ``"ok"``, or why not (unknown device, replayed nonce, MAC mismatch, device error).
    """

    device_id: str
    ok: bool
    reason: str


class Verifier:
    """Attests enrolled devices against a :class:`~ropuf.host.registry.Registry`."""

    def __init__(self, registry: Registry):
        self.registry = registry

    @staticmethod
    def challenge() -> bytes:
        """A fresh 32-byte random nonce."""
        return secrets.token_bytes(NONCE_BYTES)

    def verify(self, device_id: str, nonce: bytes, mac: bytes) -> AttestationResult:
        """Check *mac* for *nonce*; the nonce is recorded first, so it never counts twice."""
        if len(nonce) != NONCE_BYTES:
            return AttestationResult(device_id, False, f"nonce must be {NONCE_BYTES} bytes")
        try:
            record = self.registry.record(device_id)
            key = self.registry.attestation_key(device_id)
        except RegistryError as exc:
            return AttestationResult(device_id, False, str(exc))
        if not self.registry.use_nonce(device_id, nonce):
            return AttestationResult(device_id, False, "replayed nonce: it was used before")
        expected = attestation_mac(key, record.helper_data, nonce)
        if len(mac) != MAC_BYTES or not hmac.compare_digest(mac, expected):
            logger.info("attestation of %s failed: MAC mismatch", device_id)
            return AttestationResult(device_id, False, "MAC mismatch: not the enrolled device")
        return AttestationResult(device_id, True, "ok")

    def attest(self, device_id: str, device: Attester) -> AttestationResult:
        """Challenge *device* with a fresh nonce and verify its answer."""
        nonce = self.challenge()
        try:
            mac = device.attest(nonce)
        except Exception as exc:  # a device fault is a failed attestation, not a crash
            return AttestationResult(device_id, False, f"device error: {exc}")
        return self.verify(device_id, nonce, mac)

    def attest_enrolled(self, device_id: str, device: KeyDevice) -> AttestationResult:
        """Attest a device from scratch: its helper data from the registry, LOAD_HELPER,
        RECONSTRUCT, then a fresh nonce (:meth:`attest`).

        The record's signature is checked and its key decrypted before the device is
        touched, so a bad record or master key fails at once. Registry, device and link
        failures are results with the reason (``KEY_CHECK_FAILED`` when the helper data does
        not match the device or was manipulated), not exceptions.
        """
        try:
            record = self.registry.record(device_id)
            self.registry.attestation_key(device_id)
        except RegistryError as exc:
            return AttestationResult(device_id, False, str(exc))
        try:
            device.load_helper(record.helper_data)
            device.reconstruct()
        except (RuntimeError, ValueError) as exc:  # device and link errors
            return AttestationResult(device_id, False, str(exc))
        return self.attest(device_id, device)

    def attest_many(self, devices: Mapping[str, Attester]) -> list[AttestationResult]:
        """Attest each device of *devices* (device id -> attester), in order."""
        return [self.attest(device_id, device) for device_id, device in devices.items()]
