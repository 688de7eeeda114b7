"""The device client over the fast model device: every command, errors, retries."""

import time

import pytest
import serial

from ropuf.host.client import (
    BadHelperError,
    DeviceClient,
    DeviceError,
    DeviceLockedError,
    KeyCheckFailedError,
    NoKeyError,
    ProtocolError,
    UnknownCommandError,
)
from ropuf.host.transport import SerialTransport, TransportError
from ropuf.sim.board import SIM_DEVICE, Condition, device_model
from ropuf.sim.fast_device import FastDevice
from ropuf.spec import framing
from ropuf.spec.commands import Mode, Status, decode_read_ro_response, encode_read_ro_request
from ropuf.spec.ro_pairs import neighbour_pairs


def client_for(die_seed=3):
    return DeviceClient(FastDevice(device_model(Condition(die_seed=die_seed))), timeout=0.1)


def test_info_and_read_ro_match_the_model():
    client = client_for()
    info = client.info()
    assert info.mode == Mode.ENROLLMENT and info.n_ro == SIM_DEVICE.n_ro
    pairs = [*neighbour_pairs(SIM_DEVICE.n_ro), (0, 0)]
    counts = client.read_ro(pairs)  # 129 pairs: five requests
    reference = device_model(Condition(die_seed=3))
    expected = []
    for start in range(0, len(pairs), 32):
        chunk = pairs[start : start + 32]
        _, answer = reference.handle(0x02, encode_read_ro_request(chunk))
        expected += decode_read_ro_response(answer)
    assert counts == expected
    assert counts[-1] == (0, 0, 0, 1)
    assert all(15_000 < a < 19_000 for a, *_ in counts[:-1])


def test_lock_refuses_raw_readout():
    client = client_for()
    client.lock()
    assert client.info().mode == Mode.LOCKED
    with pytest.raises(DeviceError, match=r"the device is locked.*status 0x12 LOCKED"):
        client.read_ro([(0, 1)])


def test_unknown_command():
    with pytest.raises(DeviceError, match=r"does not know this command.*UNKNOWN_COMMAND"):
        client_for().request(0x55)


class Corrupting(FastDevice):
    """Flips a payload bit of the first *n* requests on the way to the device."""

    def __init__(self, model, n):
        super().__init__(model)
        self.n = n

    def send(self, frame):
        if self.n:
            self.n -= 1
            frame = bytes([frame[0], frame[1] ^ 0x40, *frame[2:]])
        super().send(frame)


def test_corrupted_requests_are_retried():
    client = DeviceClient(Corrupting(device_model(Condition()), 2), timeout=0.1, retries=2)
    assert client.info().n_ro == SIM_DEVICE.n_ro
    client = DeviceClient(Corrupting(device_model(Condition()), 3), timeout=0.1, retries=2)
    with pytest.raises(ProtocolError, match="INFO: the request was corrupted on the way"):
        client.info()


def test_silent_port_and_garbage():
    with SerialTransport("loop://") as loop:
        # loop:// echoes the request back: its code 0x01 (INFO) reads as the status BAD_CRC,
        # so the client retries and then gives up: not a ropuf device.
        client = DeviceClient(loop, timeout=0.2)
        with pytest.raises(ProtocolError, match=r"is it a ropuf device"):
            client.info()
    with pytest.raises(TransportError, match="cannot open /dev/ropuf-missing"):
        SerialTransport("/dev/ropuf-missing")


def test_no_answer_is_a_protocol_error(tmp_path):
    class Silent(FastDevice):
        def send(self, frame):
            pass

    client = DeviceClient(Silent(device_model(Condition())), timeout=0.05)
    with pytest.raises(ProtocolError, match=r"INFO: no answer within 0.05 s .*ropuf device"):
        client.info()


def test_framing_error_answer_matches_gateware_rule():
    device = FastDevice(device_model(Condition()))
    device.send(framing.cobs_encode(b"\x02\x07\x01\x00\x00" + b"\x00" * 4) + b"\x00")
    answer = framing.decode_frame(device.receive(0))
    assert answer.code in (framing.Status.BAD_CRC, framing.Status.BAD_VERSION)
    assert answer.payload == b""


def test_one_status_enum_framing_and_command_codes_do_not_overlap():
    assert Status is framing.Status
    command = [s for s in Status if s and not s.is_framing]
    assert not set(command) & {s for s in Status if s.is_framing}
    assert min(command) >= framing.COMMAND_STATUS_BASE
    assert serial.__version__


# --- the key path: LOAD_HELPER, RECONSTRUCT, ATTEST and their errors ---------------------------


def enrolled_helper(die_seed=3):
    """Helper data and keys of *die_seed* from 5 reads through the client (no registry)."""
    from ropuf.host.enrollment import read_counts
    from ropuf.host.keygen import enrol
    from ropuf.spec.code_params import CHOSEN

    reads = read_counts(client_for(die_seed), CHOSEN.ros, 5)
    return enrol(reads, CHOSEN, n_ro=SIM_DEVICE.n_ro)


def with_valid_crc(record: bytes) -> bytes:
    import zlib

    body = record[:-4]
    return body + zlib.crc32(body).to_bytes(4, "big")


def test_load_reconstruct_attest():
    from ropuf.spec.attestation import attestation_mac

    enrollment = enrolled_helper()
    record = enrollment.helper.to_bytes()
    client = client_for()
    client.load_helper(record)
    assert not client.info().key_ready
    client.reconstruct()
    assert client.info().key_ready
    nonce = bytes(range(32))
    assert client.attest(nonce) == attestation_mac(enrollment.keys.attestation, record, nonce)
    # LOAD_HELPER forgets the key.
    client.load_helper(record[:10])
    with pytest.raises(NoKeyError, match=r"ATTEST: the device has no key: .*reconstruct first"):
        client.attest(nonce)


def test_key_path_errors_are_typed():
    enrollment = enrolled_helper()
    record = enrollment.helper.to_bytes()
    with pytest.raises(NoKeyError) as caught:
        client_for().attest(bytes(32))
    assert caught.value.status == Status.NO_KEY and isinstance(caught.value, DeviceError)
    # Another die with this die's record: the key check fails.
    other = client_for(die_seed=4)
    other.load_helper(record)
    with pytest.raises(
        KeyCheckFailedError,
        match=r"RECONSTRUCT: key check failed: the helper data does not match this device or "
        r"was manipulated \(status 0x14 KEY_CHECK_FAILED\)",
    ):
        other.reconstruct()
    with pytest.raises(NoKeyError):
        other.attest(bytes(32))
    # Manipulated helper data with a valid CRC: one code-offset bit flipped.
    tampered = bytearray(record)
    tampered[18 + 95] ^= 0x80
    client = client_for()
    client.load_helper(with_valid_crc(bytes(tampered)))
    with pytest.raises(KeyCheckFailedError):
        client.reconstruct()
    # A broken CRC, and a record that is not helper data at all: BAD_HELPER.
    for broken in (bytes(tampered), bytes(len(record))):
        client.load_helper(broken)
        with pytest.raises(BadHelperError, match=r"malformed for its build.*BAD_HELPER"):
            client.reconstruct()
    # Longer than the build's helper data: the device refuses the chunk.
    with pytest.raises(DeviceError, match="BAD_PAYLOAD"):
        client.load_helper(record + b"\x00")
    with pytest.raises(ValueError, match="empty"):
        client.load_helper(b"")
    with pytest.raises(ValueError, match="a nonce must be 32 bytes, not 31"):
        client.attest(bytes(31))


def test_locked_and_deployment_errors_are_typed():
    from dataclasses import replace

    client = client_for()
    client.lock()
    with pytest.raises(DeviceLockedError):
        client.read_ro([(0, 1)])
    deployment = replace(SIM_DEVICE, variant="deployment")
    client = DeviceClient(FastDevice(device_model(Condition(), deployment)), timeout=0.1)
    with pytest.raises(UnknownCommandError, match="UNKNOWN_COMMAND"):
        client.read_ro([(0, 1)])


# --- a noisy line: garbage, half frames and stale answers before the first command -----------


class Recording(FastDevice):
    """The fast model device that keeps every byte the host sent."""

    def __init__(self, model):
        super().__init__(model)
        self.wire = bytearray()

    def send(self, frame):
        self.wire += frame
        super().send(frame)


LINE_NOISE = [
    pytest.param(b"\x13\x37\xfe\x42", id="garbage"),
    pytest.param(framing.encode_frame(1, 0x01)[:7], id="half-frame"),
    pytest.param(framing.encode_frame(77, 0x02, bytes(64))[:40], id="half-frame-long"),
    pytest.param(b"\x05\x00\xff\x00\x42\x42", id="garbage-with-delimiters"),
    pytest.param(b"\x02\x01\x00" * 6, id="many-short-frames"),
]


@pytest.mark.parametrize("noise", LINE_NOISE)
def test_first_info_after_line_noise(noise):
    """Bytes left on the line before the client starts do not fail its first command, and the
    device runs the command once (a flush delimiter, not a retry, gets past the noise)."""
    device = Recording(device_model(Condition()))
    device.send(noise)  # what the line held before this client (answered or half a frame)
    client = DeviceClient(device, timeout=0.1)
    sent = len(device.wire)
    assert client.info().n_ro == SIM_DEVICE.n_ro
    requests = [framing.decode_frame(f) for f in framing.FrameSplitter().feed(device.wire[sent:])]
    assert len(requests) == 1 and device.wire[sent] == framing.DELIMITER
    assert client.info().n_ro == SIM_DEVICE.n_ro  # and the line is clean afterwards


@pytest.mark.parametrize("noise", LINE_NOISE)
def test_attest_flow_after_line_noise(noise):
    from ropuf.spec.attestation import attestation_mac

    enrollment = enrolled_helper()
    record = enrollment.helper.to_bytes()
    device = FastDevice(device_model(Condition(die_seed=3)))
    device.send(noise)
    client = DeviceClient(device, timeout=0.1)
    client.load_helper(record)
    client.reconstruct()
    nonce = bytes(range(32, 64))
    assert client.attest(nonce) == attestation_mac(enrollment.keys.attestation, record, nonce)


def test_stale_answers_are_dropped():
    """Answers left on the line (another seq, an OK or an error) are not taken for this
    request's, whatever their status."""
    device = FastDevice(device_model(Condition()))
    client = DeviceClient(device, timeout=0.1)
    nxt = client._seq % 255 + 1  # the sequence number of the client's next request
    for seq in {nxt % 255 + 1, (nxt + 100) % 255 + 1}:
        device._outbox.append(framing.encode_frame(seq, Status.OK, b"a stale READ_RO answer"))
        device._outbox.append(framing.encode_frame(seq, framing.Status.BAD_CRC))
        device._outbox.append(framing.encode_frame(seq, Status.KEY_CHECK_FAILED))
    assert client.info().n_ro == SIM_DEVICE.n_ro
    assert not device._outbox


def test_sequence_numbers_skip_zero():
    """Seq 0 is what an error answer to an unreadable frame carries: a request never uses it,
    so such an answer is never taken for a request's own."""
    device = Recording(device_model(Condition()))
    client = DeviceClient(device, timeout=0.1)
    for _ in range(260):
        client.request(0x01)
    seqs = [framing.decode_frame(f).seq for f in framing.FrameSplitter().feed(device.wire)]
    assert len(seqs) == 260 and 0 not in seqs and len(set(seqs)) == 255


class ReplyCorrupting(FastDevice):
    """Flips a bit of the first *n* answers on the way back (they do not decode)."""

    def __init__(self, model, n):
        super().__init__(model)
        self.n = n

    def receive(self, timeout):
        answer = super().receive(timeout)
        if answer is not None and self.n:
            self.n -= 1
            answer = bytes([answer[0], answer[1] ^ 0x40, *answer[2:]])
        return answer


class Damaging(FastDevice):
    """Replaces the first request's bytes with *damaged* (what the line made of them)."""

    def __init__(self, model, damaged):
        super().__init__(model)
        self.damaged = damaged

    def send(self, frame):
        if self.damaged is not None:
            frame, self.damaged = self.damaged, None
        super().send(frame)


@pytest.mark.parametrize(
    ("damaged", "status"),
    [
        (b"\x00\x04\x01\x00", framing.Status.BAD_COBS),
        (b"\x00\x03\x01\x01\x00", framing.Status.TRUNCATED),
        (framing.encode_frame(9, 0x01)[:-2] + b"\xc8\x00", framing.Status.BAD_CRC),
    ],
    ids=["bad-cobs", "truncated", "bad-crc"],
)
def test_damaged_requests_are_retried(damaged, status):
    assert framing.FrameSplitter().feed(damaged)
    with pytest.raises(framing.FramingError) as caught:
        framing.decode_frame(framing.FrameSplitter().feed(damaged)[0])
    assert caught.value.status == status
    client = DeviceClient(Damaging(device_model(Condition()), damaged), timeout=0.1, retries=1)
    assert client.info().n_ro == SIM_DEVICE.n_ro
    client = DeviceClient(Damaging(device_model(Condition()), damaged), timeout=0.1, retries=0)
    with pytest.raises(ProtocolError, match=f"corrupted on the way .*{status.name}"):
        client.info()


class Overrunning(FastDevice):
    """Drops the first request as a full receive window would, answering OVERRUN (seq 0)."""

    def __init__(self, model):
        super().__init__(model)
        self.overrun = True

    def send(self, frame):
        if self.overrun:
            self.overrun = False
            self._outbox.append(framing.encode_frame(0, framing.Status.OVERRUN))
            return
        super().send(frame)


def test_a_request_lost_to_an_overrun_is_sent_again():
    client = DeviceClient(Overrunning(device_model(Condition())), timeout=0.1, retries=1)
    assert client.info().n_ro == SIM_DEVICE.n_ro
    client = DeviceClient(Overrunning(device_model(Condition())), timeout=0.1, retries=0)
    with pytest.raises(ProtocolError, match=r"corrupted on the way .*OVERRUN"):
        client.info()


def test_damaged_answers_are_retried():
    client = DeviceClient(ReplyCorrupting(device_model(Condition()), 2), timeout=0.1, retries=2)
    assert client.info().n_ro == SIM_DEVICE.n_ro
    client = DeviceClient(ReplyCorrupting(device_model(Condition()), 3), timeout=0.1, retries=2)
    with pytest.raises(ProtocolError, match="INFO: an answer that does not decode"):
        client.info()


def test_fast_device_answers_an_overlong_frame_like_the_gateware():
    """The receiver reads an overlong frame to its delimiter and answers OVERSIZE with the
    header's seq, or BAD_COBS (seq 0) when its COBS is broken anywhere; the next frame is
    served."""
    device = FastDevice(device_model(Condition()))
    raw = framing.pack_frame(42, 0x01, bytes(range(1, 200)))
    overlong = framing.cobs_encode(raw + raw[5:100]) + b"\x00"  # 364 bytes decoded
    assert len(overlong) > framing.MAX_ENCODED_FRAME + 1
    broken = overlong[:-1] + b"\xfe\x01\x00"  # then a code byte pointing past the end
    device.send(overlong + broken + framing.encode_frame(43, 0x01))
    answers = [framing.decode_frame(device.receive(0)) for _ in range(3)]
    assert device.receive(0) is None
    assert answers[0] == framing.Frame(42, framing.Status.OVERSIZE)
    assert answers[1] == framing.Frame(0, framing.Status.BAD_COBS)
    assert answers[2].seq == 43 and answers[2].code == framing.Status.OK


class Chattering:
    """A line that never falls silent: every read returns bytes that do not decode."""

    url = "test://chatter"

    def __init__(self):
        self.reads = 0

    def send(self, frame):
        pass

    def receive(self, timeout):
        self.reads += 1
        time.sleep(0.001)
        return b"\x01\x02\x03"

    def close(self):
        pass


def test_a_line_that_never_falls_silent_ends_at_the_timeout():
    line = Chattering()
    client = DeviceClient(line, timeout=0.3, retries=0)
    start = time.monotonic()
    with pytest.raises(ProtocolError, match="does not decode"):
        client.info()
    assert time.monotonic() - start < 2.0
    assert line.reads > 1


def test_identity_and_sign_over_the_fast_device():
    """IDENTITY and SIGN through the client: the key is the one the host derives from the
    enrollment's master key, the signatures RFC 6979's, verified with cryptography; the errors
    are typed."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

    from ropuf.host.client import FaultError
    from ropuf.spec import identity
    from ropuf.spec.identity import SignDomain

    enrollment = enrolled_helper()
    record = enrollment.helper.to_bytes()
    client = client_for()
    with pytest.raises(NoKeyError, match="IDENTITY: the device has no key"):
        client.identity()
    client.load_helper(record)
    client.reconstruct()
    d = identity.identity_scalar(enrollment.keys.master)
    public = client.identity()
    assert public == identity.encode_public_key(identity.public_key(d))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)
    nonce, digest = bytes(range(32)), bytes(range(32, 64))
    for domain, value, h in (
        (SignDomain.GENERIC, digest, digest),
        (SignDomain.ATTESTATION, nonce, identity.attestation_digest(record, nonce)),
    ):
        signature = client.sign(domain, value)
        assert signature == identity.sign(d, h) == client.sign(domain, value)
        r, s = int.from_bytes(signature[:32]), int.from_bytes(signature[32:])
        key.verify(encode_dss_signature(r, s), h, ec.ECDSA(Prehashed(hashes.SHA256())))
    with pytest.raises(ValueError, match="32-byte value, not 31"):
        client.sign(SignDomain.GENERIC, bytes(31))
    with pytest.raises(ValueError, match="is not a valid SignDomain"):
        client.sign(7, digest)
    with pytest.raises(DeviceError, match="BAD_PAYLOAD"):
        client.request(0x09, b"\x07" + digest)
    # A fault: the device answers nothing, the client names it.
    client.transport.model._sign = lambda payload: (Status.FAULT, b"")
    with pytest.raises(FaultError, match=r"self-check.*status 0x16 FAULT"):
        client.sign(SignDomain.GENERIC, digest)
    # A build without the identity does not know the commands.
    icebreaker = DeviceClient(FastDevice(device_model(Condition(board="icebreaker"))))
    with pytest.raises(UnknownCommandError):
        icebreaker.identity()


def test_generic_sign_is_refused_after_lock_and_on_a_deployment_build():
    """GENERIC is served by an unlocked enrollment build only; a locked one and a deployment
    build answer LOCKED, whatever the key state, with a message saying what to do; ATTESTATION
    is served by all three."""
    from dataclasses import replace

    from ropuf.spec import identity
    from ropuf.spec.identity import SignDomain, generic_sign_allowed

    assert [generic_sign_allowed(mode) for mode in Mode] == [True, False, False]
    enrollment = enrolled_helper()
    record = enrollment.helper.to_bytes()
    d = identity.identity_scalar(enrollment.keys.master)
    nonce, digest = bytes(range(32)), bytes(range(32, 64))
    attestation = identity.sign(d, identity.attestation_digest(record, nonce))
    todo = r"before LOCK.*status 0x12 LOCKED"
    unlocked, locked = client_for(), client_for()
    locked.lock()
    deployment = replace(SIM_DEVICE, variant="deployment")
    deployed = DeviceClient(FastDevice(device_model(Condition(die_seed=3), deployment)))
    for client in (unlocked, locked, deployed):
        if client is not unlocked:  # refused before the key is looked at
            with pytest.raises(DeviceLockedError, match="SIGN: the device signs generic"):
                client.sign(SignDomain.GENERIC, digest)
        client.load_helper(record)
        client.reconstruct()
        assert client.sign(SignDomain.ATTESTATION, nonce) == attestation
    assert unlocked.sign(SignDomain.GENERIC, digest) == identity.sign(d, digest)
    for client in (locked, deployed):
        with pytest.raises(DeviceLockedError, match=todo):
            client.sign(SignDomain.GENERIC, digest)
    # An unknown domain is a bad payload first, as before.
    with pytest.raises(DeviceError, match="BAD_PAYLOAD"):
        deployed.request(0x09, b"\x07" + digest)
