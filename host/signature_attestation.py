"""Signature attestation: a fresh nonce, the device's ECDSA signature, the owner's certificate.

The verifier issues a nonce (single use, with an expiry, as for HMAC attestation:
:func:`~ropuf.host.attestation.nonce_refusal`), the device signs it in the attestation domain
(SIGN, :func:`ropuf.spec.identity.attestation_digest`: the helper data's hash and the nonce),
and the verifier checks the device's certificate to the owner CA it trusts, the revocation list
and the signature (:meth:`ropuf.host.identity.CertificateVerifier.verify_attestation`). The
verifier holds no secret: certificates, helper data and a revocation list, from a registry
(:class:`RegistryEvidence`) or from a certificate export folder
(:class:`ropuf.host.certificate_export.CertificateDirectory`, nonces in memory:
:class:`MemoryChallenges`).
"""

import contextlib
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509

from ropuf.spec.attestation import NONCE_BYTES
from ropuf.spec.errors import RopufError
from ropuf.spec.identity import SignDomain, attestation_digest

from .attestation import DEFAULT_NONCE_LIFETIME, AttestationResult, KeyDevice, nonce_refusal
from .device_identity import split_signature
from .identity import CertificateVerifier, IdentityError, Revocations
from .registry import Challenge, Registry, RegistryError

__all__ = [
    "ChallengeBook",
    "DeviceEvidence",
    "Evidence",
    "MemoryChallenges",
    "RegistryEvidence",
    "SignatureDevice",
    "SignatureVerifier",
]


@dataclass(frozen=True)
class DeviceEvidence:
    """What a verifier holds of one device: its *certificate* and its *helper_data*."""

    certificate: x509.Certificate
    helper_data: bytes


class Evidence(Protocol):
    """Where a verifier's certificates come from (a registry, an export folder)."""

    def evidence(self, device_id: str) -> DeviceEvidence: ...

    def revocations(self) -> Revocations: ...


class RegistryEvidence:
    """A registry's certificates, helper data (from the signed records) and revocations."""

    def __init__(self, registry: Registry):
        self.registry = registry

    def evidence(self, device_id: str) -> DeviceEvidence:
        stored = self.registry.certificate(device_id)
        if stored is None:
            raise RegistryError(
                f"device {device_id!r} has no certificate in {self.registry.path}: enrol it "
                "with an owner CA, or attest it with --method hmac"
            )
        return DeviceEvidence(stored.certificate, self.registry.record(device_id).helper_data)

    def revocations(self) -> Revocations:
        return self.registry.certificate_revocations()


class ChallengeBook(Protocol):
    """Issued nonces (a :class:`~ropuf.host.registry.Registry` is one)."""

    def add_challenge(
        self, nonce: bytes, device_id: str | None, issued_at: float, expires_at: float
    ) -> None: ...

    def spend_challenge(self, nonce: bytes, now: float) -> Challenge | None: ...


class MemoryChallenges:
    """Issued nonces in this process's memory: a verifier without a registry (one process)."""

    def __init__(self) -> None:
        self._challenges: dict[bytes, Challenge] = {}

    def add_challenge(
        self, nonce: bytes, device_id: str | None, issued_at: float, expires_at: float
    ) -> None:
        if nonce in self._challenges:
            raise IdentityError("this nonce was issued before: issue a fresh one")
        self._challenges[nonce] = Challenge(device_id, issued_at, expires_at, None)

    def spend_challenge(self, nonce: bytes, now: float) -> Challenge | None:
        challenge = self._challenges.get(nonce)
        if challenge is not None and challenge.spent_at is None:
            self._challenges[nonce] = Challenge(
                challenge.device_id, challenge.issued_at, challenge.expires_at, now
            )
        return challenge


class SignatureDevice(KeyDevice, Protocol):
    """A device that signs in a domain (a device client)."""

    def sign(self, domain: SignDomain, value: bytes) -> bytes: ...


class SignatureVerifier:
    """Attests devices by signature under the owner CA *ca* (the trust anchor).

    Parameters
    ----------
    ca : x509.Certificate
        The owner CA this verifier trusts; a certificate of any other is refused (other-ca).
    evidence : Evidence
        The devices' certificates, helper data and the revocation list.
    challenges : ChallengeBook
        Where issued nonces are kept (the registry, or :class:`MemoryChallenges`).
    nonce_lifetime : float
        Seconds an issued nonce stays valid.
    clock : callable
        Seconds since the epoch.
    """

    def __init__(
        self,
        ca: x509.Certificate,
        evidence: Evidence,
        challenges: ChallengeBook,
        *,
        nonce_lifetime: float = DEFAULT_NONCE_LIFETIME,
        clock: Callable[[], float] = time.time,
    ):
        if not math.isfinite(nonce_lifetime) or nonce_lifetime <= 0:
            raise ValueError("the nonce lifetime must be a positive number of seconds")
        self.certificates = CertificateVerifier(ca)
        self.evidence = evidence
        self.challenges = challenges
        self.nonce_lifetime = float(nonce_lifetime)
        self._clock = clock

    def issue_nonce(self, device_id: str) -> bytes:
        """A fresh 32-byte nonce for *device_id*, pending until it is spent or expires."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        now = self._clock()
        self.challenges.add_challenge(nonce, device_id, now, now + self.nonce_lifetime)
        return nonce

    def verify(self, device_id: str, nonce: bytes, signature: bytes) -> AttestationResult:
        """The verdict on *signature* (``r || s``) of *nonce* by *device_id*: the nonce is spent
        first (whatever follows), then the certificate, revocation and signature are checked;
        a refusal's reason names what failed (``revoked: ...``, ``other-ca: ...``). With a
        registry as the challenge book the verdict goes into its attestation log, in the
        commit that spends the nonce."""
        registry = self.challenges if isinstance(self.challenges, Registry) else None
        with contextlib.nullcontext() if registry is None else registry.transaction():
            now = self._clock()
            result = self._judge(device_id, nonce, signature, now)
            if registry is not None:
                registry.log_attestation(device_id, now, result.ok, result.reason)
        return result

    def _judge(
        self, device_id: str, nonce: bytes, signature: bytes, now: float
    ) -> AttestationResult:
        if len(nonce) != NONCE_BYTES:
            return AttestationResult(device_id, False, f"nonce must be {NONCE_BYTES} bytes")
        refusal = nonce_refusal(device_id, self.challenges.spend_challenge(nonce, now), now)
        if refusal is not None:
            return AttestationResult(device_id, False, refusal)
        try:
            evidence = self.evidence.evidence(device_id)
            r, s = split_signature(signature)
            device = self.certificates.verify_attestation(
                evidence.certificate,
                attestation_digest(evidence.helper_data, nonce),
                r,
                s,
                revocations=self.evidence.revocations(),
            )
        except RopufError as exc:  # RefusedError with its reason, or no evidence
            return AttestationResult(device_id, False, str(exc))
        if device.device_id != device_id:
            reason = f"the certificate names device {device.device_id!r}, not {device_id!r}"
            return AttestationResult(device_id, False, reason)
        return AttestationResult(device_id, True, "ok")

    def attest(self, device_id: str, device: SignatureDevice) -> AttestationResult:
        """Challenge *device* (holding its key) with a fresh nonce and verify its signature."""
        try:
            nonce = self.issue_nonce(device_id)
        except RopufError as exc:
            return AttestationResult(device_id, False, str(exc))
        try:
            signature = device.sign(SignDomain.ATTESTATION, nonce)
        except (RopufError, OSError) as exc:
            return AttestationResult(device_id, False, f"device error: {exc}")
        return self.verify(device_id, nonce, signature)

    def attest_enrolled(self, device_id: str, device: SignatureDevice) -> AttestationResult:
        """Load the device's helper data, RECONSTRUCT, then :meth:`attest`; failures are
        verdicts with the reason, not exceptions."""
        try:
            evidence = self.evidence.evidence(device_id)
        except RopufError as exc:
            return AttestationResult(device_id, False, str(exc))
        try:
            device.load_helper(evidence.helper_data)
            device.reconstruct()
        except (RopufError, OSError) as exc:
            return AttestationResult(device_id, False, str(exc))
        return self.attest(device_id, device)
