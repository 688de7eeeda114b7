"""The end-to-end demo (``ropuf demo``, ``make demo``): the device in Verilator over its UART,
enrolled and attested through the host code, and a simulated fleet on the fast model device.

1. **Link.** A Verilator device (die 1) is served on a TCP port; the host client asks INFO and
   reads the whole RO response through the simulated UART, and checks each answer against the
   fast model device for the same die, condition and noise seed (bit for bit).
2. **Key path in Verilator.** A few dies, each on its own simulated board (two at a time),
   are enrolled like real boards (:func:`ropuf.host.enrollment.enroll_device`: read, select,
   derive, verify on the device, register) with a few reads, then attested from scratch by the
   verifier (LOAD_HELPER, RECONSTRUCT, ATTEST with a fresh nonce); a replayed nonce is shown
   refused; then another die, given the first die's record, fails its key check.
3. **Signature attestation.** The first ECP5 die of part 2 is enrolled with an owner CA made
   for the demo (:func:`ropuf.host.device_identity.certify_device`: IDENTITY, a request the
   die signs, its certificate); the registry's certificates are exported
   (:func:`ropuf.host.certificate_export.export_certificates`: no master key, no device key),
   and a :class:`~ropuf.host.signature_attestation.SignatureVerifier` that loads only that
   folder and the owner CA's certificate attests the die by signature on its own board (no
   second board start); its signature, shown with a fresh nonce, is refused; so is the second
   ECP5 die's signature (its own key) of a nonce issued for the first, and the impostor die of
   part 2, given the first die's record.
4. **Fleet.** :func:`ropuf.sim.fleet.run_fleet` on the fast model device: enrol at 25 C, key
   reconstruction and attestation at the rated corners, PUF figures.
"""

import secrets
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ropuf.host.attestation import Verifier
from ropuf.host.certificate_export import CertificateDirectory, export_certificates
from ropuf.host.client import DeviceClient
from ropuf.host.enrollment import SerialSource, enroll_device
from ropuf.host.identity import OwnerCA, Reason, create_owner_ca
from ropuf.host.registry import Registry
from ropuf.host.signature_attestation import MemoryChallenges, SignatureVerifier
from ropuf.spec.errors import InputError
from ropuf.spec.framing import frame_size
from ropuf.spec.identity import SignDomain
from ropuf.spec.ro_pairs import neighbour_pairs

from .board import SIM_DEVICE, Condition, SimulatedBoard, device_model
from .fast_device import FastDevice
from .fleet import CORNERS, FleetResult, run_fleet

__all__ = [
    "CORNERS",
    "BoardDie",
    "DemoResult",
    "KeyPathResult",
    "LinkResult",
    "SignatureResult",
    "key_path",
    "link_check",
    "run_demo",
]

#: Seconds to wait for one answer of a simulated board (RECONSTRUCT takes seconds).
BOARD_TIMEOUT = 120.0


@dataclass(frozen=True)
class BoardDie:
    """One die of the key-path part, on the Verilator device.

    Attributes
    ----------
    device_id : str
    die_seed : int
    board : str
        The simulated board (``ulx3s`` or ``icebreaker``).
    entropy_bits : float
        Its entropy account.
    enrol_s : float
        Wall time of its enrollment (board start excluded).
    attested : bool
        The verifier accepted it from scratch (own record, fresh nonce).
    reason : str
        The verifier's reason (``"ok"`` when attested).
    replay_refused : bool
        Its answer, sent again for the same nonce, was refused.
    """

    device_id: str
    die_seed: int
    board: str
    entropy_bits: float
    enrol_s: float
    attested: bool
    reason: str
    replay_refused: bool


@dataclass(frozen=True)
class LinkResult:
    """Part 1: the Verilator device through its UART (seconds, bytes per second)."""

    info: dict
    response_bits: int
    verilator_matches_model: bool
    info_round_trip_s: float
    response_read_s: float
    link_bytes_per_s: float
    board_start_s: float


@dataclass(frozen=True)
class SignatureResult:
    """Part 3: a die enrolled with an owner CA, attested by signature by a verifier that holds
    the certificate export and the owner CA's certificate, nothing secret.

    Attributes
    ----------
    device_id : str
    owner_ca : str
        The owner CA's name.
    certificate_serial : int
        The die's certificate serial number.
    export_files : list of str
        The export folder the verifier loads (file names).
    export_secret_free : bool
        No file of the export holds a private key, the registry's master key or the die's
        attestation key.
    attested : bool
        The verifier accepted the die (LOAD_HELPER, RECONSTRUCT, SIGN of a fresh nonce).
    reason : str
    sign_s : float
        Wall time of SIGN on the simulated board.
    verify_ms : float
        Wall time of one full check (certificate chain, revocation list, ECDSA) of the die's
        signature, shown with a fresh nonce.
    other_nonce_refused : bool
        That signature, shown with another (fresh) nonce, was refused.
    other_nonce_reason : str
    impostor_die_seed : int
        The die that presents this die's record (part 2's impostor).
    impostor_attested : bool
        Whether the signature verifier accepted it (it must not).
    impostor_reason : str
    foreign_device_id : str or None
        Another enrolled die (of part 2) that signed, with its own key, a nonce the verifier
        issued for this die; None when part 2 had no second ECP5 die.
    foreign_refused : bool
        Its signature was refused.
    foreign_reason : str
    """

    device_id: str
    owner_ca: str
    certificate_serial: int
    export_files: list[str]
    export_secret_free: bool
    attested: bool
    reason: str
    sign_s: float
    verify_ms: float
    other_nonce_refused: bool
    other_nonce_reason: str
    impostor_die_seed: int = 0
    impostor_attested: bool = True
    impostor_reason: str = "not tried"
    foreign_device_id: str | None = None
    foreign_refused: bool = False
    foreign_reason: str = "not tried"

    @property
    def ok(self) -> bool:
        """Attested from a secret-free export; the moved signature, the impostor and (if
        tried) another die's signature refused."""
        return (
            self.attested
            and self.export_secret_free
            and self.other_nonce_refused
            and not self.impostor_attested
            and (self.foreign_device_id is None or self.foreign_refused)
        )


@dataclass(frozen=True)
class KeyPathResult:
    """Part 2: dies enrolled and attested on Verilator boards, and an impostor die.

    Attributes
    ----------
    board_reads : int
        Enrollment reads per die.
    board_dies : list of BoardDie
    impostor_die_seed : int
        The die that presents another die's record.
    impostor_record : str
        Whose record it presents.
    impostor_attested : bool
        Whether the verifier accepted it (it must not).
    impostor_reason : str
    seconds : float
    signature : SignatureResult or None
        Part 3, on the first die's board (None when the demo left it out).
    """

    board_reads: int
    board_dies: list[BoardDie]
    impostor_die_seed: int
    impostor_record: str
    impostor_attested: bool
    impostor_reason: str
    seconds: float
    signature: SignatureResult | None = None

    @property
    def ok(self) -> bool:
        """Every die attested with its replay refused, the impostor refused, and part 3 (if
        run) ok."""
        dies_ok = all(d.attested and d.replay_refused for d in self.board_dies)
        signature_ok = self.signature is None or self.signature.ok
        return dies_ok and not self.impostor_attested and signature_ok


@dataclass(frozen=True)
class DemoResult:
    """Figures of one demo run: its parts (part 3 is ``key_path.signature``)."""

    link: LinkResult
    key_path: KeyPathResult
    fleet: FleetResult


def link_check(die_seed: int = 1) -> LinkResult:
    """Part 1: INFO and the whole response through the UART, against the fast model."""
    pairs = neighbour_pairs(SIM_DEVICE.n_ro)
    condition = Condition(die_seed=die_seed, noise_seed=7)
    started = time.monotonic()
    with (
        SimulatedBoard(condition) as board,
        DeviceClient.open(board.url, timeout=BOARD_TIMEOUT) as device,
    ):
        board_start = time.monotonic() - started
        fast = DeviceClient(FastDevice(device_model(condition)))
        t = time.monotonic()
        info = device.info()
        info_round_trip = time.monotonic() - t
        matches = info == fast.info()
        t = time.monotonic()
        counts = device.read_ro(pairs)
        read_time = time.monotonic() - t
        matches &= counts == fast.read_ro(pairs)
    # Bytes on the wire for the read: requests and answers, framed (COBS adds about 1/254).
    requests = [pairs[i : i + 32] for i in range(0, len(pairs), 32)]
    wire = sum(frame_size(4 * len(r)) + frame_size(7 * len(r)) + 4 for r in requests)
    return LinkResult(
        info={
            "mode": info.mode.name.lower(),
            "n_ro": info.n_ro,
            "gate_cycles": info.gate_cycles,
            "count_width": info.count_width,
            "build_id": info.build_id.hex(),
        },
        response_bits=len(counts),
        verilator_matches_model=matches,
        info_round_trip_s=info_round_trip,
        response_read_s=read_time,
        link_bytes_per_s=wire / read_time,
        board_start_s=board_start,
    )


def _board_die(
    seed: int,
    registry_path: Path,
    master_key: bytes,
    owner: Ed25519PrivateKey,
    reads: int,
    board: str = "ulx3s",
    owner_ca: OwnerCA | None = None,
    then: Callable[[Registry, str, DeviceClient], object] | None = None,
) -> tuple[BoardDie, object]:
    """Part 2 for one die: its own board, enrolled like a real board (the key construction
    its INFO names; with *owner_ca*, certified too), then attested; then
    ``then(registry, device_id, client)`` on the same board (part 3), whose value is returned
    with the die's (None without *then*)."""
    device_id = f"die-{seed}" if board == "ulx3s" else f"{board}-{seed}"
    condition = Condition(die_seed=seed, noise_seed=seed + 10, board=board)
    with (
        SimulatedBoard(condition) as sim_board,
        Registry(registry_path, master_key) as registry,
    ):
        source = SerialSource(sim_board.url, timeout=BOARD_TIMEOUT)
        t = time.monotonic()
        # The design offsets the board's build holds: enrollment takes the bits as it does.
        offsets = condition.config.offsets
        report = enroll_device(
            device_id,
            [source],
            registry,
            owner,
            reads=reads,
            thresholds=offsets,
            owner_ca=owner_ca,
        )
        enrol_s = time.monotonic() - t
        verifier = Verifier(registry)
        with source.open() as client:
            result = verifier.attest_enrolled(device_id, client)
            # The same answer for the same nonce, sent twice: the second is a replay.
            nonce = verifier.challenge()
            mac = client.attest(nonce)
            first = verifier.verify(device_id, nonce, mac)
            replay = verifier.verify(device_id, nonce, mac)
            after = None if then is None else then(registry, device_id, client)
    die = BoardDie(
        device_id=device_id,
        die_seed=seed,
        board=board,
        entropy_bits=report.account.remaining,
        enrol_s=enrol_s,
        attested=result.ok,
        reason=result.reason,
        replay_refused=first.ok and not replay.ok and "replayed" in replay.reason,
    )
    return die, after


class _TimedSigner:
    """A device client whose SIGN is timed and its last signature kept (the demo's figures)."""

    def __init__(self, client: DeviceClient):
        self.client = client
        self.sign_s = 0.0
        self.signature = b""

    def load_helper(self, record: bytes) -> None:
        self.client.load_helper(record)

    def reconstruct(self) -> None:
        self.client.reconstruct()

    def sign(self, domain: SignDomain, value: bytes) -> bytes:
        t = time.monotonic()
        self.signature = self.client.sign(domain, value)
        self.sign_s = time.monotonic() - t
        return self.signature


def _export_secret_free(folder: Path, secrets_: list[bytes]) -> bool:
    """No file in *folder* holds a PEM private key nor any of *secrets_* (raw or hex)."""
    for path in folder.iterdir():
        data = path.read_bytes()
        if b"PRIVATE KEY" in data:
            return False
        if any(s in data or s.hex().encode() in data.lower() for s in secrets_):
            return False
    return True


def _signature_verifier(owner_ca: OwnerCA, certs: Path) -> SignatureVerifier:
    """A verifier holding only the export *certs* and the owner CA's certificate."""
    return SignatureVerifier(owner_ca.certificate, CertificateDirectory(certs), MemoryChallenges())


def _sign_for(
    verifier: SignatureVerifier,
    target: str,
    registry: Registry,
    device_id: str,
    client: DeviceClient,
) -> tuple[bytes, bytes]:
    """An impostor's answer: the die behind *client* (holding its own key) signs a nonce
    *verifier* issued for *target*; the nonce and the signature."""
    nonce = verifier.issue_nonce(target)
    return nonce, client.sign(SignDomain.ATTESTATION, nonce)


def _signature_attest(
    master_key: bytes,
    owner_ca: OwnerCA,
    certs: Path,
    registry: Registry,
    device_id: str,
    client: DeviceClient,
) -> SignatureResult:
    """Part 3 on the die's board: export, attest by signature, then the signature moved to a
    fresh nonce."""
    export_certificates(registry, certs)
    secret_free = _export_secret_free(certs, [master_key, registry.attestation_key(device_id)])
    verifier = _signature_verifier(owner_ca, certs)
    device = _TimedSigner(client)
    result = verifier.attest_enrolled(device_id, device)
    t = time.monotonic()
    moved = verifier.verify(device_id, verifier.issue_nonce(device_id), device.signature)
    verify_ms = (time.monotonic() - t) * 1e3
    stored = registry.certificate(device_id)
    return SignatureResult(
        device_id=device_id,
        owner_ca=owner_ca.name,
        certificate_serial=stored.certificate.serial_number if stored is not None else 0,
        export_files=sorted(p.name for p in certs.iterdir()),
        export_secret_free=secret_free,
        attested=result.ok,
        reason=result.reason,
        sign_s=device.sign_s,
        verify_ms=verify_ms,
        other_nonce_refused=not moved.ok and moved.reason.startswith(Reason.BAD_SIGNATURE.value),
        other_nonce_reason=moved.reason,
    )


#: First die of the key-path part: die 1 is one of the simulated ECP5 dies whose own gradient
#: biases its rank pairs beyond what enrollment accepts (docs/keygen.md), so the demo starts
#: at die 2 (tests/host/test_enrollment.py shows die 1 refused).
KEY_PATH_DIE = 2


def key_path(
    die_seed: int = KEY_PATH_DIE,
    board_dies: int = 2,
    reads: int = 5,
    icebreaker_dies: int = 1,
    signature: bool = True,
) -> KeyPathResult:
    """Part 2: enrol *board_dies* dies (seeds from *die_seed*) on simulated ECP5 boards and
    *icebreaker_dies* on simulated iCEBreakers (Verilator), two boards at a time, with *reads*
    reads each; attest each from scratch; show a replay refused; then let one more die present
    the first die's record. With *signature*, part 3 as well: the first die is enrolled with an
    owner CA and attested by signature on its board, and the impostor is shown to the
    signature verifier too."""
    if board_dies < 1:
        raise InputError(f"the demo enrols at least one die on a board, not {board_dies!r}")
    started = time.monotonic()
    seeds = [die_seed + i for i in range(board_dies)]
    impostor = die_seed + board_dies
    master_key = secrets.token_bytes(32)
    owner = Ed25519PrivateKey.generate()
    owner_ca = create_owner_ca("ropuf demo owner") if signature else None
    with tempfile.TemporaryDirectory(prefix="ropuf-demo-") as tmp:
        path = Path(tmp) / "registry.db"
        certs = Path(tmp) / "certs"
        certs.mkdir()  # filled by the first die's thread (part 3), read by the others
        Registry(path, master_key).close()  # created once, before the threads share it
        first = f"die-{seeds[0]}"
        jobs: list[tuple[int, str, OwnerCA | None, Callable | None]] = []
        foreign = None
        if owner_ca is not None:
            # The first ECP5 die is certified by the owner CA, part 3 on its board; the
            # second signs a nonce issued for the first (checked once the export exists).
            foreign = _signature_verifier(owner_ca, certs)
            jobs.append(
                (
                    seeds[0],
                    "ulx3s",
                    owner_ca,
                    partial(_signature_attest, master_key, owner_ca, certs),
                )
            )
            jobs += [
                (seed, "ulx3s", None, partial(_sign_for, foreign, first)) for seed in seeds[1:2]
            ]
        jobs += [(seed, "ulx3s", None, None) for seed in seeds[len(jobs) :]]
        jobs += [(impostor + 1 + i, "icebreaker", None, None) for i in range(icebreaker_dies)]
        with ThreadPoolExecutor(max_workers=2) as pool:  # at most two boards at once
            done = list(
                pool.map(
                    lambda job: _board_die(
                        job[0], path, master_key, owner, reads, job[1], job[2], job[3]
                    ),
                    jobs,
                )
            )
        dies = [die for die, _ in done]
        signed = done[0][1]
        if foreign is not None and len(done) > 1 and done[1][1] is not None:
            nonce, foreign_signature = done[1][1]
            moved = foreign.verify(first, nonce, foreign_signature)
            signed = replace(
                signed,
                foreign_device_id=dies[1].device_id,
                foreign_refused=not moved.ok
                and moved.reason.startswith(Reason.BAD_SIGNATURE.value),
                foreign_reason=moved.reason,
            )
        with (
            Registry(path, master_key) as registry,
            SimulatedBoard(Condition(die_seed=impostor, noise_seed=3)) as board,
            DeviceClient.open(board.url, timeout=BOARD_TIMEOUT) as client,
        ):
            stolen = Verifier(registry).attest_enrolled(dies[0].device_id, client)
            if signed is not None and owner_ca is not None:
                # The signature verifier, from the export alone, given the first die's name.
                forged = _signature_verifier(owner_ca, certs).attest_enrolled(
                    dies[0].device_id, client
                )
                signed = replace(
                    signed,
                    impostor_die_seed=impostor,
                    impostor_attested=forged.ok,
                    impostor_reason=forged.reason,
                )
    return KeyPathResult(
        board_reads=reads,
        board_dies=dies,
        impostor_die_seed=impostor,
        impostor_record=dies[0].device_id,
        impostor_attested=stolen.ok,
        impostor_reason=stolen.reason,
        seconds=time.monotonic() - started,
        signature=signed,
    )


def run_demo(
    *,
    dies: int = 20,
    reads: int = 25,
    board_dies: int = 2,
    board_reads: int = 5,
    die_seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """Run the parts and return the figures (see the module docstring).

    Parameters
    ----------
    dies, reads : int
        Fleet size and enrollment reads per die of the fleet (fast model device).
    board_dies, board_reads : int
        Dies enrolled on Verilator boards, and their enrollment reads (a full read is READ_RO
        of every neighbour pair of the ROs the construction uses: 416 pairs of an ECP5 board's
        832 ROs, 192 of an iCEBreaker's 384).
    die_seed : int
        Seed of the first Verilator die.
    progress : callable, optional
        ``progress(done, total)`` of the fleet part, in dies.
    """
    return DemoResult(
        link=link_check(die_seed),
        key_path=key_path(die_seed + 1, board_dies, board_reads),
        fleet=run_fleet(dies, reads=reads, progress=progress),
    )
