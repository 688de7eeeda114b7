"""Golden vectors: a frozen helper record and fixed soft readings give fixed keys and MACs.

Everything here is a literal written once, from a run of the code as it was when the vectors
were made (BCH(242,134,t=14) over GF(2^8), the chosen code): the record, the readings (a
formula), the nonce, and what must come out of them: the key-check value (stored in the
record), the secret, the master and attestation keys, and the MAC. The host's reconstruction,
the device model and the key engine gateware must each reproduce them. Host and gateware share
``spec/`` (field, generator, labels, formats); a change there moves both together and every
other test still passes, but every enrolled record would break: these literals catch it.
Nine of the 242 readings disagree with the enrolled bits, so the decoder corrects errors too.
"""

from collections import namedtuple

import numpy as np

from ropuf.gateware.key.engine import KeyEngine
from ropuf.host.fuzzy import corrected_batch, decode_soft, reconstruct
from ropuf.host.kdf import pack_secret
from ropuf.sim.device_model import DeviceModel
from ropuf.sim.handler_driver import drive_handler
from ropuf.spec import commands
from ropuf.spec.attestation import attestation_mac
from ropuf.spec.code_params import CHOSEN
from ropuf.spec.commands import Command, Status
from ropuf.spec.device_config import DeviceConfig
from ropuf.spec.helper_data import HelperData

N_RO = 1536
#: The helper record (v2, with design thresholds) of a die enrolled with the chosen code.
RECORD = bytes.fromhex(
    "5250484402028001080e00f202f810000600fff5fffffd7fffff5fffffd7fffff5fffffd7fffff5fffffd7ff"
    "fff1fffffc7fff00000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000000ac7f0ee3c0f01e3b87f5e4388b19c378f456ce"
    "f2268bdd34e70ca4293f1340ff9cffbbffdafff9001800370056ffacffcbffea00090028ff9dffdbfffa0019"
    "00380057ffadffccffeb000a00290048ff9effbdffdcfffb001a00390058ffaeffcdffec000b002aff9fffdd"
    "fffc001b003a0059ffafffceffed000c002b004affa0ffbfffdefffd001c003b005affb0ffcfffee000d002c"
    "ffa1ffdffffe001d003c005bffb1ffd0ffef000e002d004cffa2ffc1ffe0ffff001e003d005cffb2ffd1fff0"
    "000f002effa3ffe10000001f003e005dffb3ffd2fff10010002f004effa4ffc3ffe200010020003f005effb4"
    "ffd3fff200110030ffa5ffe3000200210040005fffb5ffd4fff3001200310050ffa6ffc5ffe4000300220041"
    "0060ffb6ffd5fff400130032ffa7ffe50004002300420061ffb7ffd6fff5001400330052ffa8ffc7ffe60005"
    "002400430062ffb8ffd7fff600150034ffa9ffe70006002500440063ffb9ffd8fff7001600350054ffaaffc9"
    "ffe80007002600450064ffbaffd9fff800170036ffabffe9000800270046ff9cffbbffdafff9001800370056"
    "ffacffcbffea000900280047ff9dffbcffdbfffa00190038ffeb000a00290048ff9effbdffdcfffb001a0039"
    "0058ffaeffcdffec000b002a0049ff9fffbeffddfffc001b003affed000c002b004affa0ffbfffdefffd001c"
    "003b005affb0ffcfffee000dcd5c2553a826f7147dd2ef44"
)
NONCE = bytes(range(0x40, 0x60))
KCV = bytes.fromhex("cd5c2553a826f714")
SECRET = bytes.fromhex("c3870e1c3870e1c3870e1c3870e1c3870c")
MASTER = bytes.fromhex("754ff9cbaea1616f86410cca457e1b17f5d68246305835dac64d52e5f5f97526")
ATTESTATION_KEY = bytes.fromhex("d07fd43a29f2d884087c15b5880adc6785197473d0120d41ea6146c1e533f08d")
MAC = bytes.fromhex("d56c44255817b8e4eb77c64d09aa7af342a92c08d4db6f5354d368cc9ed4d83e")


def soft_reading(candidate: int) -> int:
    """The fixed soft reading of candidate pair *candidate* (ROs 2i and 2i + 1)."""
    return (candidate * 7919) % 1999 - 999


def test_the_frozen_record_is_what_it_claims():
    helper = HelperData.from_bytes(RECORD)
    assert helper.params == CHOSEN and helper.n_ro == N_RO
    assert helper.kcv == KCV
    assert helper.to_bytes() == RECORD


def test_host_reconstructs_the_golden_keys_and_mac():
    helper = HelperData.from_bytes(RECORD)
    readings = np.array([soft_reading(a // 2) for a, _ in helper.pairs()])
    keys = reconstruct(helper, readings)
    corrected = corrected_batch(readings[None, :], helper.thresholds, CHOSEN.soft_width)
    message, failed = decode_soft(corrected, np.array(helper.offset), CHOSEN)
    assert not failed[0] and pack_secret(message[0]) == SECRET
    assert (keys.kcv, keys.master, keys.attestation) == (KCV, MASTER, ATTESTATION_KEY)
    assert attestation_mac(keys.attestation, RECORD, NONCE) == MAC


class _FixedReadings(DeviceModel):
    """The device model with an RO array that reads the fixed soft values."""

    def _measure(self, pairs):
        reading = namedtuple("Reading", "soft")
        return [reading(soft_reading(a // 2)) for a, _ in pairs]


def test_device_model_answers_the_golden_mac():
    params = DeviceConfig(
        variant="enrollment",
        n_ro=N_RO,
        stages=5,
        gate_cycles=1024,
        soft_width=16,
        clock_hz=12_000_000,
        code=CHOSEN,
    )
    assert params.count_width == 16
    model = _FixedReadings(params, [1 << 16] * N_RO, seed=1, noise_scale=0, common_scale=0)
    answers = [
        model.handle(Command.LOAD_HELPER, chunk) for chunk in commands.encode_load_helper(RECORD)
    ]
    answers.append(model.handle(Command.RECONSTRUCT, b""))
    answers.append(model.handle(Command.ATTEST, NONCE))
    assert answers[-2:] == [(Status.OK, b""), (Status.OK, MAC)]


def test_key_engine_answers_the_golden_mac():
    engine = KeyEngine(code=CHOSEN, n_ro=N_RO, count_width=16, soft_width=16)
    requests = [(Command.LOAD_HELPER, chunk) for chunk in commands.encode_load_helper(RECORD)]
    requests += [(Command.RECONSTRUCT, b""), (Command.ATTEST, NONCE)]
    answers = drive_handler(engine, requests, soft_of_pair=lambda a, b: soft_reading(a // 2))
    assert [(status, payload) for status, payload, _ in answers[-2:]] == [
        (Status.OK, b""),
        (Status.OK, MAC),
    ]
