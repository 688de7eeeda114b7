"""Golden vectors: a frozen helper record and fixed soft readings give fixed keys and MACs.

Everything here is a literal written once, from a run of the code as it was when the vectors
were made (BCH(224,132,t=12) over GF(2^8) on rank pairs, the chosen code, helper data v3): the
record, the readings (a formula of each RO), the nonce, and what must come out of them: the
key-check value (stored in the record), the secret, the master and attestation keys, and the
MAC. The host's reconstruction, the device model and the key engine gateware must each
reproduce them. Host and gateware share ``spec/`` (field, generator, labels, formats); a change
there moves both together and every other test still passes, but every enrolled record would
break: these literals catch it.
Nine of the 224 readings disagree with the enrolled bits, so the decoder corrects errors too.
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
#: The helper record (v3: rank pairs, design thresholds) of a die enrolled with the chosen code.
RECORD = bytes.fromhex(
    "5250484403034a01080c00e006041001060001f06d0950f01181734f451b5b65dd6786ac72f7b2bb5c7720e2"
    "692912ec3143553fc4234be4e58a892b9ae9efabdb7f01f0600950f01181731b41f55b65dd6786b96fa72f7b"
    "2c772912ec3143553963d74234be4e592b9ae9efa30a71abdb7f01f0600a10e21181731b41f52362776786b9"
    "6fa73b77c7b22ec3143553963d74184594be4e59ae9efa30a71ab2af3b7f0600a10e21231641b41f52362772"
    "b82f96fa73b77c7bd7fe01206d3143553963d74184594f46ac9ae9efa30a71ab2af30e21231641a51e623627"
    "72b82f933a36177c7bd7fe83f9fb01206d0953963d74184594f451b6ac72fa30a71ab2af3bb51231641a51e6"
    "20e2692b82f933a3613fc7bd7fe83f8a89fb01206d0950f03d74184594f451b5b66ac72fa71ab2af3bb51a51"
    "e620e2692912f933a3613fc4234be83f8a892b9fbabd01206d0950f01184594f451b5b65dd6ac72f7b2af3bb"
    "5c778ddf84cf233e7322cc46079d3f9121838eee73ad64d6f17edda69ee7ff9cffc1ffe6000b00300055ffb2"
    "ffd7fffc00210046ffa3ffc8ffed00120037005cffb9ffde00030028004dffaaffcffff40019003e0063ffc0"
    "ffe5000a002f0054ffb1ffd6fffb00200045ffa2ffc7ffec00110036005bffb8ffdd00020027004cffa9ffce"
    "fff30018003d0062ffbfffe40009002e0053ffb0ffd5fffa001f0044ffa1ffc6ffeb00100035005affb7ffdc"
    "00010026004bffa8ffcdfff20017003c0061ffbeffe30008002d0052ffafffd4fff9001e0043ffa0ffc5ffea"
    "000f00340059ffb6ffdb00000025004affa7ffccfff10016003b0060ffbdffe20007002c0051ffaeffd3fff8"
    "001d0042ff9fffc4ffe9000e00330058ffb5ffdaffff00240049ffa6ffcbfff00015003a005fffbcffe10006"
    "002b0050ffadffd2fff7001c0041ff9effc3ffe8000d00320057ffb4ffd9fffe00230048ffa5ffcaffef0014"
    "0039005effbbffe00005002a004fffacffd1fff6001b0040ff9dffc2ffe7000c00310056ffb3ffd8fffd0022"
    "0047ffa4ffc9ffee00130038005dffbaffdf00040029004effabffd0fff5001a003fff9cffc1ffe6000b0030"
    "0055ffb2ffd7fffc00210046ffa3ffc8ffed00120037005cffb9ffde00030028004d80007fffc17bec8d6625"
    "7998fb60c714"
)
NONCE = bytes(range(0x40, 0x60))
KCV = bytes.fromhex("c17bec8d66257998")
SECRET = bytes.fromhex("e1c3870e1c3870e1c3870e1c3870e1c380")
MASTER = bytes.fromhex("e162739127b4e33ba6545a7ff5fb424a2fb0de7393893c5019cbe1d4ca7d3156")
ATTESTATION_KEY = bytes.fromhex("b3f29927b5b888ca07163b7edcdcb3babab0f5d87e1355bd4b4e10ed0f8908ca")
MAC = bytes.fromhex("5d0e4f78071aa837f955f5c3dc7a3158b03e1586066b694f32e7865455946171")


def count(ro: int) -> int:
    """The fixed reading of RO *ro* (what the pairs were chosen from)."""
    return (ro * 7919) % 1999 - 999


def soft_reading(a: int, b: int) -> int:
    """The fixed soft reading of pair (a, b)."""
    return count(a) - count(b)


def test_the_frozen_record_is_what_it_claims():
    helper = HelperData.from_bytes(RECORD)
    assert helper.params == CHOSEN and helper.n_ro == N_RO
    assert helper.kcv == KCV
    assert helper.to_bytes() == RECORD


def test_host_reconstructs_the_golden_keys_and_mac():
    helper = HelperData.from_bytes(RECORD)
    assert list(helper.pairs) == CHOSEN.pairing.choose(
        [count(ro) for ro in range(N_RO)], CHOSEN.selected_bits
    )
    readings = np.array([soft_reading(a, b) for a, b in helper.pairs])
    keys = reconstruct(helper, np.array([count(ro) for ro in range(N_RO)]))
    corrected = corrected_batch(readings[None, :], helper.thresholds, CHOSEN.soft_width)
    message, failed = decode_soft(corrected, np.array(helper.offset), CHOSEN)
    assert not failed[0] and pack_secret(message[0]) == SECRET
    assert (keys.kcv, keys.master, keys.attestation) == (KCV, MASTER, ATTESTATION_KEY)
    assert attestation_mac(keys.attestation, RECORD, NONCE) == MAC


class _FixedReadings(DeviceModel):
    """The device model with an RO array that reads the fixed soft values."""

    def _measure(self, pairs):
        reading = namedtuple("Reading", "soft")
        return [reading(soft_reading(a, b)) for a, b in pairs]


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
    answers = drive_handler(engine, requests, soft_of_pair=soft_reading)
    assert [(status, payload) for status, payload, _ in answers[-2:]] == [
        (Status.OK, b""),
        (Status.OK, MAC),
    ]
