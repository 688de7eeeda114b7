"""The attestation verifier: issued nonces, constant-time MAC checks, no nonce accepted twice.

A verifier issues each nonce (:meth:`Verifier.issue_nonce`), recorded in the registry as
pending with an expiry; :meth:`Verifier.verify` accepts only an issued, unexpired, unused
nonce, and spends it before the MAC is checked, whatever the outcome. Issued and spent nonces
live in the registry file, so every verifier on that file (and after a restart) sees them.
Each verdict goes into the registry's attestation log in the same commit as the spent nonce;
:meth:`Verifier.verify_many` judges a batch in one commit. A revoked device gets no nonce and
passes no attestation.
"""

import hmac
import logging
import math
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from ropuf.spec.attestation import MAC_BYTES, NONCE_BYTES, attestation_mac
from ropuf.spec.errors import RopufError

from .registry import Challenge, Registry, RegistryError

__all__ = [
    "DEFAULT_NONCE_LIFETIME",
    "AttestationResult",
    "Attester",
    "KeyDevice",
    "Verifier",
    "nonce_refusal",
]

logger = logging.getLogger(__name__)

#: Seconds an issued nonce stays valid, unless the verifier is given another lifetime.
DEFAULT_NONCE_LIFETIME = 300.0


def _mac_matches(mac: bytes, expected: bytes) -> bool:
    """Whether *mac* is *expected*: every byte and the length, in constant time."""
    return len(mac) == MAC_BYTES and hmac.compare_digest(mac, expected)


def nonce_refusal(device_id: str, challenge: Challenge | None, now: float) -> str | None:
    """None if *challenge*, just spent at *now*, was issued, unexpired and unused for
    *device_id*; otherwise the reason the answer is refused (every verifier's nonce rule: the
    HMAC one here and the signature one, :mod:`.signature_attestation`)."""
    if challenge is None:
        return "unknown nonce: this verifier never issued it; ask for a challenge first"
    if challenge.spent_at is not None:
        return "replayed nonce: it was used before"
    if challenge.device_id is not None and challenge.device_id != device_id:
        return f"nonce issued for {challenge.device_id!r}, not for this device"
    if now > challenge.expires_at:
        return (
            f"expired nonce: issued {now - challenge.issued_at:.0f} s ago, valid for "
            f"{challenge.expires_at - challenge.issued_at:.0f} s; ask for a new challenge"
        )
    return None


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
    method : str or None
        How the device answered (``"hmac"``, ``"signature"``) where the verdict's maker chose
        it (the gateway, :func:`ropuf.host.service.gateway.attest_through`); else None.
    """

    device_id: str
    ok: bool
    reason: str
    method: str | None = None


class Verifier:
    """Attests enrolled devices against a :class:`~ropuf.host.registry.Registry`.

    Parameters
    ----------
    registry : Registry
        Holds the devices and the issued and spent nonces.
    nonce_lifetime : float
        Seconds an issued nonce stays valid (default :data:`DEFAULT_NONCE_LIFETIME`).
    clock : callable
        Seconds since the epoch (``time.time``); every verifier on one registry file must
        share it.
    """

    def __init__(
        self,
        registry: Registry,
        *,
        nonce_lifetime: float = DEFAULT_NONCE_LIFETIME,
        clock: Callable[[], float] = time.time,
    ):
        if (
            isinstance(nonce_lifetime, bool)
            or not isinstance(nonce_lifetime, int | float)
            or not math.isfinite(nonce_lifetime)
            or nonce_lifetime <= 0
        ):
            raise ValueError(
                f"the nonce lifetime must be a positive number of seconds, not {nonce_lifetime!r}"
            )
        self.registry = registry
        self.nonce_lifetime = float(nonce_lifetime)
        self._clock = clock

    def issue_nonce(self, device_id: str | None = None) -> bytes:
        """A fresh 32-byte random nonce, recorded as pending until it expires.

        Issued for *device_id* (only its answer is accepted), or with None for any one
        enrolled device. It is committed to the registry before it is returned.

        Raises
        ------
        RegistryError
            *device_id* is not enrolled, or is revoked.
        """
        if device_id is not None:
            state = self.registry.device_state(device_id)
            if state is not None and state.revoked_at is not None:
                raise RegistryError(f"device {device_id!r} is revoked: it gets no nonce")
        nonce = secrets.token_bytes(NONCE_BYTES)
        now = self._clock()
        self.registry.add_challenge(nonce, device_id, now, now + self.nonce_lifetime)
        return nonce

    def challenge(self, device_id: str | None = None) -> bytes:
        """The same as :meth:`issue_nonce`."""
        return self.issue_nonce(device_id)

    def _verdict(self, device_id: str, refusal: str | None, loaded, nonce: bytes, mac: bytes):
        """The verdict on an answer whose nonce was spent (*refusal*: why it is refused, or
        None); *loaded* is the device's entry of
        :meth:`~ropuf.host.registry.Registry.verified_devices` (None: not enrolled)."""
        if refusal is not None:
            return AttestationResult(device_id, False, refusal)
        if loaded is None:
            reason = f"device {device_id!r} is not enrolled in {self.registry.path}"
            return AttestationResult(device_id, False, reason)
        if isinstance(loaded, RegistryError):
            return AttestationResult(device_id, False, str(loaded))
        state, record, key = loaded
        if state.revoked_at is not None:
            return AttestationResult(device_id, False, "revoked device: it no longer attests")
        expected = attestation_mac(key, record.helper_data, nonce)
        if not _mac_matches(mac, expected):
            logger.info("attestation of %s failed: MAC mismatch", device_id)
            return AttestationResult(device_id, False, "MAC mismatch: not the enrolled device")
        return AttestationResult(device_id, True, "ok")

    def verify(self, device_id: str, nonce: bytes, mac: bytes) -> AttestationResult:
        """Check *mac* for *nonce*; only a nonce this registry issued, unexpired and unused,
        counts, and it is spent before the MAC is checked, so it never counts twice. The
        verdict is logged in the registry in the same commit as the spend."""
        return self.verify_many([(device_id, nonce, mac)])[0]

    def verify_many(self, answers: Iterable[tuple[str, bytes, bytes]]) -> list[AttestationResult]:
        """:meth:`verify` each ``(device_id, nonce, mac)`` of *answers*, in order, with every
        spend and verdict in one commit (none of them if the commit fails).

        The batch path: every nonce is spent by one statement (a nonce offered twice counts
        once, the second offer is a replay), the devices are read in one query (their
        verified records and keys from the registry's in-memory cache), the verdicts are
        logged by one statement."""
        answers = list(answers)
        results: list[AttestationResult] = [None] * len(answers)  # type: ignore[list-item]
        with self.registry.transaction():
            now = self._clock()
            judged = []
            for index, (device_id, nonce, _mac) in enumerate(answers):
                if len(nonce) == NONCE_BYTES:
                    judged.append(index)
                else:
                    reason = f"nonce must be {NONCE_BYTES} bytes"
                    results[index] = AttestationResult(device_id, False, reason)
            challenges = self.registry.spend_challenges([answers[i][1] for i in judged], now)
            devices = self.registry.verified_devices(answers[i][0] for i in judged)
            for index, challenge in zip(judged, challenges, strict=True):
                device_id, nonce, mac = answers[index]
                refusal = nonce_refusal(device_id, challenge, now)
                results[index] = self._verdict(
                    device_id, refusal, devices.get(device_id), nonce, mac
                )
            self.registry.log_attestations([(r.device_id, now, r.ok, r.reason) for r in results])
        return results

    def attest(self, device_id: str, device: Attester) -> AttestationResult:
        """Challenge *device* with a nonce issued for *device_id* and verify its answer."""
        try:
            nonce = self.issue_nonce(device_id)
        except RegistryError as exc:
            return AttestationResult(device_id, False, str(exc))
        try:
            mac = device.attest(nonce)
        except (RopufError, OSError) as exc:  # a device or link fault is a failed
            # attestation, not a crash; anything else is a bug and keeps its traceback
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
        except (RopufError, OSError) as exc:  # device and link errors
            return AttestationResult(device_id, False, str(exc))
        return self.attest(device_id, device)

    def attest_many(self, devices: Mapping[str, Attester]) -> list[AttestationResult]:
        """Attest each device of *devices* (device id -> attester), in order."""
        return [self.attest(device_id, device) for device_id, device in devices.items()]
