"""Host verifications per second: signature attestation against HMAC attestation.

Usage::

    .venv/bin/python benchmarks/bench_attestation_host.py [--devices 100] [--seconds 2]

One process, one thread, the verifier's cryptography only (no database, no network; the
service's figures, with its registry, are in benchmarks/bench_service.py):

* **HMAC**: recompute ``attestation_mac(key, helper data, nonce)`` (:mod:`ropuf.spec.attestation`)
  and compare it with ``hmac.compare_digest``: what a verifier that holds each device's
  attestation key does per answer;
* **signature, chain cached**: ``CertificateVerifier.verify_attestation`` on the device's
  certificate (its chain to the owner CA checked once, then only time and revocation) and the
  ECDSA P-256 check of ``attestation_digest(helper data, nonce)`` (:mod:`ropuf.spec.identity`):
  what a verifier that holds only certificates does;
* **signature, chain checked every time**: the same with a fresh verifier per answer.

Devices are software P-256 keys (``cryptography``) with certificates issued by one owner CA
(:mod:`ropuf.host.identity`); the digests signed are the attestation domain's. Rates are
printed side by side from one run; compare them as ratios.

Figures (this machine, 2 cores shared with other jobs, 100 devices): HMAC 334,365 per second;
signature with the chain cached 10,819 (0.032 x HMAC); signature with the chain checked every
time 2,828 (0.008 x HMAC). The signature check is what a verifier without device secrets pays.
"""

import argparse
import hashlib
import hmac
import os
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from ropuf.host.identity import (
    CertificateVerifier,
    build_device_request,
    create_owner_ca,
    issue_device_certificate,
)
from ropuf.spec.attestation import attestation_mac
from ropuf.spec.identity import attestation_digest

#: A helper record's size (the ECP5 construction's); only its hash enters either check.
RECORD_BYTES = 368


def rate(check, answers, seconds: float) -> float:
    """Checks of *answers* (cycled) per second over about *seconds*."""
    done, started = 0, time.perf_counter()
    while True:
        for answer in answers:
            check(answer)
        done += len(answers)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()

    ca = create_owner_ca("bench owner")
    records = [os.urandom(RECORD_BYTES) for _ in range(args.devices)]

    # HMAC: (key, record, nonce, MAC).
    hmac_answers = []
    for record in records:
        key, nonce = os.urandom(32), os.urandom(32)
        hmac_answers.append((key, record, nonce, attestation_mac(key, record, nonce)))

    def check_hmac(answer):
        key, record, nonce, mac = answer
        assert hmac.compare_digest(attestation_mac(key, record, nonce), mac)

    # Signatures: (certificate, digest, r, s), each device certified by the owner CA.
    sig_answers = []
    for i, record in enumerate(records):
        key = ec.generate_private_key(ec.SECP256R1())
        point = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

        def sign(digest, key=key):
            der = key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
            return utils.decode_dss_signature(der)

        device_id = f"bench-{i:04d}"
        request = build_device_request(device_id, point, sign)
        certificate = issue_device_certificate(
            ca, request, hashlib.sha256(record).digest()[:8], device_id=device_id, point=point
        )
        digest = attestation_digest(record, os.urandom(32))
        sig_answers.append((certificate, digest, *sign(digest)))

    cached = CertificateVerifier(ca.certificate)

    def check_cached(answer):
        cached.verify_attestation(*answer)

    def check_fresh(answer):
        CertificateVerifier(ca.certificate).verify_attestation(*answer)

    print(f"Host attestation checks, one thread, {args.devices} devices, {args.seconds} s each")
    figures = [
        ("HMAC (key held by the verifier)", rate(check_hmac, hmac_answers, args.seconds)),
        ("signature, certificate chain cached", rate(check_cached, sig_answers, args.seconds)),
        ("signature, chain checked every time", rate(check_fresh, sig_answers, args.seconds)),
    ]
    base = figures[0][1]
    for name, value in figures:
        print(f"  {name:<38}{value:>10,.0f} per second  ({value / base:.3f} x HMAC)")


if __name__ == "__main__":
    main()
