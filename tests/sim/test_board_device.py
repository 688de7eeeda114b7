"""The Verilator device behind its UART, over a TCP port, answers like the fast model device."""

import pytest

from ropuf.host.client import DeviceClient, DeviceError
from ropuf.sim.board import SIM_DEVICE, Condition, SimulatedBoard, device_model
from ropuf.sim.fast_device import FastDevice
from ropuf.spec import framing
from ropuf.spec.commands import Mode, Status
from ropuf.spec.ro_pairs import neighbour_pairs


@pytest.mark.sim
def test_verilator_device_equals_fast_model_bit_for_bit():
    condition = Condition(die_seed=11, temperature=60.0, voltage=1.17, noise_seed=5)
    pairs = [*neighbour_pairs(SIM_DEVICE.n_ro)[:40], (3, 3), (0, SIM_DEVICE.n_ro + 10)]
    with SimulatedBoard(condition) as board, DeviceClient.open(board.url, timeout=30) as device:
        fast = DeviceClient(FastDevice(device_model(condition)), timeout=1)
        assert device.info() == fast.info()
        assert device.read_ro(pairs) == fast.read_ro(pairs)
        assert device.read_ro(pairs[:3]) == fast.read_ro(pairs[:3])  # noise state carried on
        with pytest.raises(DeviceError, match="UNKNOWN_COMMAND"):
            device.request(0x66, b"abc")
        # A corrupted frame gets a framing error answer, and the device still works after it.
        frame = bytearray(framing.encode_frame(9, 0x01))
        frame[3] ^= 0x10
        device.transport.send(bytes(frame))
        answer = framing.decode_frame(device.transport.receive(30))
        assert answer.code == framing.Status.BAD_CRC and answer.payload == b""
        device.lock()
        fast.lock()
        assert device.info().mode == Mode.LOCKED == fast.info().mode
        with pytest.raises(DeviceError) as info:
            device.read_ro([(0, 1)])
        assert info.value.status == Status.LOCKED
