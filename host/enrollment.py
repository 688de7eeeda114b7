"""Enrollment of one device: read its ring oscillators, derive helper data and keys, prove them
on the device, and only then register it.

1. **Read.** At each operating condition the device is reached at (a :class:`DeviceSource`),
   INFO must report an unlocked enrollment build with enough ROs; then the count of every RO
   the construction consumes (``params.ros``) is read *reads* times with READ_RO of the
   neighbour pairs ``(2i, 2i + 1)``, ``i < ros / 2`` (32 pairs per request), each answer
   giving both ROs' counts. Reads of all conditions are pooled: an RO's rank is taken from its
   mean over all of them.
2. **Derive.** :func:`ropuf.host.keygen.enrol` pairs the ROs by rank inside their batches
   (less the design offsets), makes the entropy account (refusing below 128 bits), draws the
   secret, and derives the helper data and keys. From the device's own measured margins (each
   pair's mean corrected soft value and read-to-read spread at each condition)
   :func:`ropuf.host.keygen_analysis.measured_key_failure` predicts its key failure;
   enrollment refuses a device whose figure at any condition read is above *max_key_failure*
   (default :data:`MAX_KEY_FAILURE`, 1e-9), so the target holds per device.
3. **Verify on the device** (at the first condition): LOAD_HELPER, RECONSTRUCT must answer OK,
   and one ATTEST with a fresh nonce must equal the MAC of the derived attestation key
   (compared in constant time). A record that the device cannot use is never written.
4. **Register**: the signed record and the encrypted attestation key, in one transaction
   (:meth:`ropuf.host.registry.Registry.enroll`).

The keys stay in this process's memory; nothing here logs, prints or returns them.

A real board is read at whatever condition it is at (one :class:`SerialSource`); a simulated
die can be read at several (:mod:`ropuf.sim.sources`).
"""

import contextlib
import datetime
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ropuf.spec.attestation import NONCE_BYTES, attestation_mac
from ropuf.spec.code_params import CONSTRUCTIONS, CodeParams
from ropuf.spec.commands import Info, Mode
from ropuf.spec.errors import InputError
from ropuf.spec.ro_pairs import neighbour_pairs

from .client import (
    BadHelperError,
    DeviceClient,
    KeyCheckFailedError,
    UnknownCommandError,
)
from .design_offsets import as_build_offsets, load_offsets
from .device_identity import certify_device
from .identity import OwnerCA
from .keygen import EnrollmentError, EntropyAccount, enrol
from .keygen_analysis import measured_key_failure
from .registry import EnrollmentRecord, Registry, RegistryError

__all__ = [
    "MAX_KEY_FAILURE",
    "DeviceSource",
    "EnrollmentError",
    "EnrollmentReport",
    "SerialSource",
    "check_enrollable",
    "construction_of",
    "enroll_device",
    "puf_facts",
    "read_counts",
]

logger = logging.getLogger(__name__)

#: Default largest predicted key failure (per reconstruction) of a device enrollment accepts.
MAX_KEY_FAILURE = 1e-9

#: ``progress(done, total)``: called after each full read of the ROs and after the
#: verification (units: full reads; the verification counts as one).
Progress = Callable[[int, int], None]


class DeviceSource(Protocol):
    """One way to reach the device at one operating condition.

    Attributes
    ----------
    label : str
        What to call it in messages (a port, or "die 7 at 85 C, 1.14 V").
    """

    label: str

    def open(self) -> contextlib.AbstractContextManager[DeviceClient]:
        """A client for the device, closed (and any simulator stopped) on leaving."""


@dataclass(frozen=True)
class SerialSource:
    """A device on a serial port or a ``socket://`` URL, at whatever condition it is at.

    Parameters
    ----------
    url : str
        Any pyserial URL (``/dev/ttyUSB1``, ``socket://localhost:5007``).
    baudrate : int
        Line rate of a real port.
    timeout : float
        Seconds to wait for each answer (a simulated board needs tens of seconds for some).
    """

    url: str
    baudrate: int = 115_200
    timeout: float = 5.0

    @property
    def label(self) -> str:
        return self.url

    def open(self) -> DeviceClient:
        return DeviceClient.open(self.url, baudrate=self.baudrate, timeout=self.timeout)


@dataclass(frozen=True)
class EnrollmentReport:
    """What an enrollment did (public facts only: no key, no response bit).

    Attributes
    ----------
    device_id : str
    conditions : tuple of str
        Labels of the conditions read; the first is where the device was verified.
    reads : int
        Full reads of the ROs per condition.
    ros, pairs : int
        ROs read (those the construction consumes), and rank pairs carrying the key.
    helper_bytes : int
        Size of the helper-data record.
    account : EntropyAccount
        Bias, min-entropy account and the predicted bit-error rate of the pairs.
    puf : dict
        The PUF facts stored in the record.
    locked : bool
        Whether the device was locked after enrollment.
    seconds : float
        Wall time of the whole enrollment.
    predicted_key_failure : float
        The device's predicted key failure per reconstruction at the worst condition read
        (:func:`ropuf.host.keygen_analysis.measured_key_failure`).
    certificate : x509.Certificate or None
        The device certificate the owner CA issued and the registry keeps; None when no owner
        CA was given or the build has no identity (:attr:`identity` says which).
    identity : bool or None
        Whether the device answered IDENTITY; None when no owner CA was given (not asked).
    """

    device_id: str
    conditions: tuple[str, ...]
    reads: int
    ros: int
    pairs: int
    helper_bytes: int
    account: EntropyAccount
    puf: dict
    locked: bool
    seconds: float
    predicted_key_failure: float = 0.0
    certificate: x509.Certificate | None = None
    identity: bool | None = None


def check_enrollable(info: Info, params: CodeParams, where: str) -> None:
    """Refuse a device that cannot be enrolled with *params*, saying why and what to do.

    Raises
    ------
    EnrollmentError
        Locked, a deployment build, too few ROs, or another soft-value width.
    """
    if info.mode == Mode.LOCKED:
        raise EnrollmentError(
            f"the device at {where} is locked: its raw readout is off until the FPGA is "
            "reconfigured; reload the enrollment bitstream and enrol before sending LOCK"
        )
    if info.mode == Mode.DEPLOYMENT:
        raise EnrollmentError(
            f"the device at {where} runs a deployment build, which has no raw readout: "
            "enrol it with the enrollment bitstream, then deploy"
        )
    if info.n_ro < params.ros:
        raise EnrollmentError(
            f"the device at {where} has {info.n_ro} ROs; the key construction pairs "
            f"{params.selected_bits} from batches of {params.pairing.batch} and needs {params.ros}"
        )
    if info.soft_width != params.soft_width:
        raise EnrollmentError(
            f"the device at {where} has {info.soft_width}-bit soft values; the key "
            f"construction expects {params.soft_width}"
        )


def read_counts(
    client: DeviceClient,
    ros: int,
    reads: int,
    *,
    after_read: Callable[[], None] | None = None,
) -> np.ndarray:
    """Counts of ROs ``0 .. ros - 1``, read *reads* times: an int64 array of shape
    ``(reads, ros)``.

    Each full read is READ_RO of the neighbour pairs ``(2i, 2i + 1)``, ``i < ros / 2``; an
    answer gives both ROs' counts of one gate (the soft values the decoder sees are taken from
    them, :func:`ropuf.host.fuzzy.pair_soft`). *after_read* is called after each full read.

    Raises
    ------
    ValueError
        *ros* is not even.
    EnrollmentError
        The device flags a pair invalid (its array is smaller than it reported).
    DeviceLockedError, UnknownCommandError
        The device refuses raw readout.
    """
    if ros % 2:
        raise ValueError(f"ROs are read in neighbour pairs: an even count, not {ros!r}")
    pairs = neighbour_pairs(ros)
    out = np.empty((reads, ros), dtype=np.int64)
    for r in range(reads):
        results = client.read_ro(pairs)
        invalid = [pairs[i] for i, result in enumerate(results) if result[3]]
        if invalid:
            raise EnrollmentError(
                f"the device flags {len(invalid)} pair(s) invalid, first {invalid[0]}: its "
                "RO array is smaller than its INFO answer says"
            )
        out[r, 0::2] = [a for a, *_ in results]
        out[r, 1::2] = [b for _, b, *_ in results]
        if after_read is not None:
            after_read()
    return out


def puf_facts(info: Info, params: CodeParams, conditions: Sequence[str], reads: int) -> dict:
    """The public PUF facts an enrollment record keeps: build, geometry, code, how enrolled."""
    return {
        "design_version": info.design_version,
        "build_id": info.build_id.hex(),
        **info.figures(),
        "code": {
            "rep": params.rep,
            "gf_m": params.gf_m,
            "t": params.t,
            "n": params.n,
            "k": params.k,
            "batch": params.pairing.batch,
            "per_batch": params.pairing.per_batch,
            "ros": params.ros,
        },
        "enrollment": {"conditions": list(conditions), "reads_per_condition": reads},
    }


def _verify_on_device(
    client: DeviceClient, record: bytes, attestation_key: bytes, where: str, offsets: bool
) -> None:
    """LOAD_HELPER, RECONSTRUCT and one ATTEST must work with the new record."""
    try:
        client.load_helper(record)
        client.reconstruct()
    except KeyCheckFailedError:
        raise EnrollmentError(
            f"verification failed: the device at {where} does not reconstruct the key from "
            "the helper data just derived (KEY_CHECK_FAILED): the design offsets "
            f"{'given (--thresholds) are' if offsets else 'are zero here, which is'} not what "
            "its build holds (enrol with the offsets of the bitstream it runs), or its "
            "readings are too noisy or too few (enrol again with more reads)"
        ) from None
    except BadHelperError:
        raise EnrollmentError(
            f"verification failed: the device at {where} rejects the helper data "
            "(BAD_HELPER): its build has another key construction; enrol with its code"
        ) from None
    except UnknownCommandError:
        raise EnrollmentError(
            f"verification failed: the device at {where} has no key path (LOAD_HELPER, "
            "RECONSTRUCT, ATTEST); load a bitstream with the key engine"
        ) from None
    nonce = secrets.token_bytes(NONCE_BYTES)
    expected = attestation_mac(attestation_key, record, nonce)
    if not hmac.compare_digest(client.attest(nonce), expected):
        raise EnrollmentError(
            f"verification failed: the attestation of the device at {where} does not match "
            "the derived attestation key; nothing was registered"
        )


def enroll_device(
    device_id: str,
    sources: Sequence[DeviceSource],
    registry: Registry,
    owner: Ed25519PrivateKey,
    *,
    reads: int = 25,
    params: CodeParams | None = None,
    max_bias: float = 0.15,
    design_min_entropy: float | None = None,
    thresholds: np.ndarray | str | Path | None = None,
    lock: bool = False,
    progress: Progress | None = None,
    max_key_failure: float = MAX_KEY_FAILURE,
    owner_ca: OwnerCA | None = None,
) -> EnrollmentReport:
    """Enrol the device reached through *sources* as *device_id* (see the module docstring).

    Parameters
    ----------
    device_id : str
        Its name in the registry (must not be enrolled yet).
    sources : sequence of DeviceSource
        The device at each condition to read; the first is where it is verified (read last,
        so that one device is open at a time and the verification follows its reads).
    registry : Registry
        Where the record goes.
    owner : Ed25519PrivateKey
        Signs the record (:func:`ropuf.host.owner_key.load_owner_key`).
    reads : int
        Full reads of the ROs per condition, at least 2 (default 25).
    params : CodeParams, optional
        The key construction; by default the one the device's INFO names
        (:func:`construction_of`).
    max_bias, design_min_entropy : float
        As :func:`ropuf.host.keygen.enrol`.
    thresholds : array or path, optional
        The design offsets of the device's build (:mod:`ropuf.host.design_offsets`): per-RO
        values (a build's integers, :attr:`ropuf.spec.device_config.DeviceConfig.offsets`, or
        counts rounded per RO by :func:`~ropuf.host.design_offsets.as_build_offsets`), or an
        offsets file, checked against the device's gate. They must be the offsets the device's
        build holds: the device takes each pair's bit less ``offsets[a] - offsets[b]``, and with
        other offsets the on-device verification fails. None: zeros (a build without
        offsets; a warning is logged, as bit-aliasing is then not corrected).
    lock : bool
        Send LOCK once the device is registered (raw readout off until reconfiguration).
    progress : callable, optional
        ``progress(done, total)`` in full reads.
    max_key_failure : float
        Largest accepted predicted key failure per reconstruction, at the worst condition read
        (default :data:`MAX_KEY_FAILURE`, 1e-9); 1 accepts any device.
    owner_ca : OwnerCA, optional
        Certify the device's identity (:func:`ropuf.host.device_identity.certify_device`:
        IDENTITY, a request the device signs, the certificate with INFO's build id) after the
        verification, and store the certificate with the record in one transaction. A build
        without the identity is enrolled without a certificate (the report says so).

    Returns
    -------
    EnrollmentReport

    Raises
    ------
    EnrollmentError
        The device is locked, a deployment build, unfit for *params*, too biased, short of
        entropy, predicted to fail its key more often than *max_key_failure*, or fails the
        verification. Nothing is registered.
    RegistryError
        *device_id* is already enrolled.
    ProtocolError, TransportError, DeviceError
        The device cannot be reached or answers wrongly.
    """
    if not isinstance(device_id, str) or not device_id.strip():
        raise InputError(f"a device id must be a non-empty name, not {device_id!r}")
    if not sources:
        raise ValueError("enrollment needs at least one device source")
    if not isinstance(reads, int) or reads < 2:
        raise InputError(f"enrollment needs at least 2 reads per condition, not {reads!r}")
    if (
        isinstance(max_key_failure, bool)
        or not isinstance(max_key_failure, int | float)
        or not 0.0 < max_key_failure <= 1.0
    ):
        raise InputError(
            "the largest accepted key failure (max_key_failure, --max-key-failure) must be "
            f"a probability in (0, 1], not {max_key_failure!r}"
        )
    if device_id in registry.devices():
        raise RegistryError(
            f"device {device_id!r} is already enrolled in {registry.path}: choose another id"
        )
    if isinstance(thresholds, str | Path):
        # A bad file is refused before any reading (its gate, and its size when the
        # construction comes from INFO, are checked once INFO is known).
        load_offsets(thresholds, ros=None if params is None else params.ros, gate_cycles=None)
    started = time.monotonic()
    total = len(sources) * reads + 1
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    primary, *others = sources
    pooled = []
    info = None
    for source in others:
        with source.open() as client:
            info, params = _read_source(client, source.label, params, info)
            logger.info("reading %d times at %s", reads, source.label)
            pooled.append(read_counts(client, params.ros, reads, after_read=step))
    with primary.open() as client:
        info, params = _read_source(client, primary.label, params, info)
        logger.info("reading %d times at %s", reads, primary.label)
        pooled.insert(0, read_counts(client, params.ros, reads, after_read=step))
        if isinstance(thresholds, str | Path):
            thresholds = load_offsets(thresholds, ros=params.ros, gate_cycles=info.gate_cycles)
        offsets = None if thresholds is None else as_build_offsets(thresholds, params.ros)
        if offsets is None:
            logger.warning(
                "no design offsets: enrolling for a build without them; bits shared by every "
                "device of the design (bit-aliasing) are not corrected (docs/keygen.md)"
            )
        enrollment = enrol(
            np.concatenate(pooled),
            params,
            n_ro=info.n_ro,
            max_bias=max_bias,
            design_min_entropy=design_min_entropy,
            offsets=offsets,
        )
        predicted = measured_key_failure(pooled, enrollment.helper, offsets)
        worst = int(np.argmax(predicted))
        if predicted[worst] > max_key_failure:
            raise EnrollmentError(
                f"the device's predicted key failure is {predicted[worst]:.1e} per "
                f"reconstruction at {sources[worst].label}, above the target "
                f"{max_key_failure:.1e}: its pairs' margins are too thin for the "
                "code; read more times (--reads) to measure the margins better, enrol another "
                "device, or accept a higher figure with --max-key-failure; nothing was "
                "registered"
            )
        logger.info("predicted key failure %.1e (worst condition read)", predicted[worst])
        record_bytes = enrollment.helper.to_bytes()
        logger.info("verifying the new helper data on %s", primary.label)
        _verify_on_device(
            client, record_bytes, enrollment.keys.attestation, primary.label, offsets is not None
        )
        certificate = None
        if owner_ca is not None:
            certificate = certify_device(client, device_id, owner_ca, info.build_id)
            if certificate is None:
                logger.warning(
                    "the build has no identity (IDENTITY: UNKNOWN_COMMAND): %s is enrolled "
                    "without a certificate; attest it with HMAC",
                    device_id,
                )
        step()
        labels = tuple(source.label for source in sources)
        puf = puf_facts(info, params, labels, reads)
        record = EnrollmentRecord(
            device_id=device_id,
            enrolled_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            puf=puf,
            helper_data=record_bytes,
            owner_public_key=owner.public_key().public_bytes_raw(),
        )
        with registry.transaction():
            registry.enroll(record, enrollment.keys.attestation, owner)
            if certificate is not None:
                registry.add_certificate(device_id, certificate, owner_ca.certificate, time.time())
        logger.info("registered %s in %s", device_id, registry.path)
        if lock:
            client.lock()
    return EnrollmentReport(
        device_id=device_id,
        conditions=labels,
        reads=reads,
        ros=params.ros,
        pairs=params.selected_bits,
        helper_bytes=len(record_bytes),
        account=enrollment.account,
        puf=puf,
        locked=lock,
        seconds=time.monotonic() - started,
        predicted_key_failure=float(predicted[worst]),
        certificate=certificate,
        identity=None if owner_ca is None else certificate is not None,
    )


def construction_of(info: Info, where: str) -> CodeParams:
    """The key construction a device's INFO names (:data:`~ropuf.spec.code_params.CONSTRUCTIONS`).

    Raises
    ------
    EnrollmentError
        The build has no key path, or a construction this host does not know.
    """
    if info.construction == 0:
        raise EnrollmentError(
            f"the device at {where} has no key path (its INFO names no key construction): "
            "load a bitstream with the key engine"
        )
    try:
        return CONSTRUCTIONS[info.construction]
    except KeyError:
        raise EnrollmentError(
            f"the device at {where} names key construction {info.construction}, which this "
            "host does not know: update ropuf, or pass the construction (params) explicitly"
        ) from None


def _read_source(
    client: DeviceClient,
    where: str,
    params: CodeParams | None,
    previous: Info | None,
) -> tuple[Info, CodeParams]:
    """INFO of the device at one condition, checked (and the same build as before), and the
    key construction (*params*, else the one INFO names)."""
    info = client.info()
    if params is None:
        params = construction_of(info, where)
    check_enrollable(info, params, where)
    if previous is not None and info.build_id != previous.build_id:
        raise EnrollmentError(
            f"the device at {where} runs another build ({info.build_id.hex()}) than at the "
            f"other conditions ({previous.build_id.hex()}): enrol one build at a time"
        )
    return info, params
