"""The device client over the fast model device: every command, errors, retries."""

import pytest
import serial

from ropuf.host.client import DeviceClient, DeviceError, ProtocolError
from ropuf.host.fast_device import FastDevice
from ropuf.host.transport import SerialTransport, TransportError
from ropuf.sim.board import SIM_DEVICE, Condition, device_model
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


def test_status_enums_do_not_overlap():
    assert not set(Status) & set(framing.Status) - {Status.OK}
    assert min(s for s in Status if s) >= framing.COMMAND_STATUS_BASE
    assert serial.__version__
