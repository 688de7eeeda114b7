"""The JSON bodies of the service's requests and answers (pydantic models; they make the
OpenAPI schema at ``/openapi.json``). Binary values travel as lower-case hex."""

from typing import Self

from pydantic import BaseModel, Field, model_validator

from ropuf.spec.attestation import MAC_BYTES, NONCE_BYTES
from ropuf.spec.identity import SIGNATURE_BYTES

__all__ = [
    "MAX_BATCH",
    "AttestationIn",
    "AttestationOut",
    "BatchIn",
    "BatchOut",
    "ChallengeIn",
    "ChallengeOut",
    "DeviceOut",
    "DevicePage",
    "ErrorOut",
    "ImportOut",
    "LastAttestation",
    "TransferIn",
]

#: Most answers in one batch request.
MAX_BATCH = 1000

DeviceId = Field(min_length=1, max_length=128, description="the device's name in the registry")
_NONCE_HEX = Field(
    pattern=f"^[0-9a-fA-F]{{{2 * NONCE_BYTES}}}$",
    description=f"the challenge's nonce: {NONCE_BYTES} bytes as hex",
)
# Any hex up to twice the MAC's length: a MAC of the wrong length is a verdict (mismatch).
_MAC_HEX = Field(
    default=None,
    pattern=f"^([0-9a-fA-F]{{2}}){{0,{2 * MAC_BYTES}}}$",
    description=f"the device's HMAC-SHA256 over the attestation message: {MAC_BYTES} bytes, hex",
)
_SIGNATURE_HEX = Field(
    default=None,
    pattern=f"^[0-9a-fA-F]{{{2 * SIGNATURE_BYTES}}}$",
    description=f"the device's ECDSA P-256 signature r || s in the attestation domain: "
    f"{SIGNATURE_BYTES} bytes, hex (checked against its certificate)",
)


class ErrorOut(BaseModel):
    """Every refusal: an HTTP status and this body."""

    error: str = Field(description="a short code: unauthorized, forbidden, not_found, ...")
    message: str = Field(description="what went wrong and what to do")


class ChallengeIn(BaseModel):
    device_id: str = DeviceId


class ChallengeOut(BaseModel):
    device_id: str
    nonce: str = Field(description="fresh random nonce, hex; single use")
    expires_at: float = Field(description="seconds since the epoch; refused after it")
    lifetime: float = Field(description="seconds the nonce is valid from its issue")
    methods: list[str] = Field(
        description='how the device may answer: "hmac" (a mac), and "signature" when it has a '
        "live certificate from an owner CA this service trusts"
    )
    helper_data: str = Field(
        description="the device's helper data (public), hex: what a gateway loads into the "
        "device before it reconstructs its key and answers"
    )


class AttestationIn(BaseModel):
    """A device's answer: exactly one of ``mac`` and ``signature``."""

    device_id: str = DeviceId
    nonce: str = _NONCE_HEX
    mac: str | None = _MAC_HEX
    signature: str | None = _SIGNATURE_HEX

    @model_validator(mode="after")
    def _one_answer(self) -> Self:
        if (self.mac is None) == (self.signature is None):
            raise ValueError(
                "give exactly one of mac (HMAC attestation) and signature (signature "
                "attestation), not " + ("both" if self.mac is not None else "neither")
            )
        return self


class AttestationOut(BaseModel):
    device_id: str
    ok: bool = Field(
        description="true only when the MAC or signature held for a fresh nonce (and, for a "
        "signature, the device's certificate chain to a trusted owner CA, unrevoked)"
    )
    reason: str = Field(description='"ok", or why not')


class BatchIn(BaseModel):
    attestations: list[AttestationIn] = Field(min_length=1, max_length=MAX_BATCH)


class BatchOut(BaseModel):
    results: list[AttestationOut]


class LastAttestation(BaseModel):
    at: float
    ok: bool
    reason: str


class CertificateOut(BaseModel):
    """A device's owner-issued certificate as the registry keeps it (public)."""

    serial: str = Field(description="the certificate's serial number, hex")
    owner_ca: str = Field(description="SHA-256 fingerprint of the issuing owner CA, hex")
    owner_ca_name: str = Field(description="the owner CA's subject")
    issued_at: float = Field(description="seconds since the epoch")
    revoked_at: float | None = Field(description="seconds since the epoch; null: not revoked")
    not_after: str = Field(description="end of validity, ISO 8601")
    pem: str = Field(description="the certificate, PEM")


class DeviceOut(BaseModel):
    device_id: str
    owner: str = Field(description="the owner's Ed25519 public key, hex")
    enrolled_by: str = Field(description="the owner key that signed the enrollment record, hex")
    enrolled_at: str
    status: str = Field(description='"active" or "revoked"')
    revoked_at: float | None
    puf: dict
    helper_bytes: int
    last_attestation: LastAttestation | None
    certificate: CertificateOut | None = Field(
        default=None,
        description="the live certificate, else the latest (revoked); null: none (a build "
        "without the identity, or enrolled without an owner CA)",
    )


class DevicePage(BaseModel):
    devices: list[DeviceOut]
    next: str | None = Field(description="pass as ?after= for the next page; null at the end")


class ImportOut(BaseModel):
    imported: list[str]


class TransferIn(BaseModel):
    owner: str = Field(
        pattern="^[0-9a-fA-F]{64}$", description="the new owner's Ed25519 public key, hex"
    )
