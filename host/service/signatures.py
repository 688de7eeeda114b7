"""Signature attestation in the service: the owner CAs it trusts and the verdict on a device's
signature (``POST /v1/attestations`` with ``signature`` instead of ``mac``).

The trusted owner CA certificates come from the service's configuration (``ropuf serve
--owner-ca-cert FILE``, repeatable), never from the registry: the registry's ``owner_cas``
table says which CA issued a stored certificate, not that this verifier trusts it
(docs/identity.md). A device's signature is checked by the
:class:`~ropuf.host.signature_attestation.SignatureVerifier` of the trusted CA that issued its
certificate, with the registry as the challenge book: the nonce is spent first, by the same
rule as a MAC's (:func:`~ropuf.host.attestation.nonce_refusal`), and the verdict is logged in
the same commit.
"""

from collections.abc import Callable, Iterable

from cryptography import x509

from ropuf.host.attestation import AttestationResult
from ropuf.host.identity import fingerprint
from ropuf.host.registry import Registry, RegistryError
from ropuf.host.signature_attestation import DeviceEvidence, RegistryEvidence, SignatureVerifier

__all__ = ["METHOD_HMAC", "METHOD_SIGNATURE", "NO_TRUSTED_CA", "ServiceEvidence", "Signatures"]

#: The attestation methods a challenge's answer names.
METHOD_HMAC = "hmac"
METHOD_SIGNATURE = "signature"
#: Why a signature is refused by a service that trusts no owner CA.
NO_TRUSTED_CA = (
    "this service trusts no owner CA, so it checks no signature: start 'ropuf serve' with "
    "--owner-ca-cert FILE, or answer with a MAC"
)


class ServiceEvidence(RegistryEvidence):
    """The registry's evidence, refusing a revoked device (whatever its certificate's state)."""

    def evidence(self, device_id: str) -> DeviceEvidence:
        state = self.registry.device_state(device_id)
        if state is not None and state.revoked_at is not None:
            raise RegistryError("revoked device: it no longer attests")
        return super().evidence(device_id)


class Signatures:
    """The service's signature verifiers, one per trusted owner CA, over *registry*.

    Parameters
    ----------
    registry : Registry
        Devices, certificates, revocations and the issued nonces.
    trusted_cas : iterable of x509.Certificate
        The owner CA certificates of the service's configuration.
    nonce_lifetime : float
    clock : callable
        As the service's HMAC verifier's.
    """

    def __init__(
        self,
        registry: Registry,
        trusted_cas: Iterable[x509.Certificate],
        *,
        nonce_lifetime: float,
        clock: Callable[[], float],
    ):
        self.registry = registry
        evidence = ServiceEvidence(registry)
        self._verifiers = {
            fingerprint(ca): SignatureVerifier(
                ca, evidence, registry, nonce_lifetime=nonce_lifetime, clock=clock
            )
            for ca in trusted_cas
        }

    def _verifier(self, device_id: str) -> SignatureVerifier | None:
        """The verifier of the trusted CA that issued *device_id*'s certificate; else any
        (it refuses the certificate: other-ca, or none stored); None when none is trusted."""
        stored = self.registry.certificate(device_id)
        found = None if stored is None else self._verifiers.get(fingerprint(stored.ca))
        return found or next(iter(self._verifiers.values()), None)

    def methods(self, device_id: str) -> list[str]:
        """How *device_id* can answer a challenge: ``hmac``, and ``signature`` when it has a
        live certificate from an owner CA this service trusts."""
        stored = self.registry.certificate(device_id)
        usable = (
            stored is not None
            and stored.revoked_at is None
            and fingerprint(stored.ca) in self._verifiers
        )
        return [METHOD_HMAC, METHOD_SIGNATURE] if usable else [METHOD_HMAC]

    def verify(self, device_id: str, nonce: bytes, signature: bytes) -> AttestationResult:
        """The verdict on *signature* (``r || s``) of *nonce* by *device_id*, its nonce spent
        and the verdict logged in one commit (:meth:`SignatureVerifier.verify`).

        Raises
        ------
        RegistryError
            This service trusts no owner CA (:data:`NO_TRUSTED_CA`); the nonce is not spent.
        """
        verifier = self._verifier(device_id)
        if verifier is None:
            raise RegistryError(NO_TRUSTED_CA)
        return verifier.verify(device_id, nonce, signature)
