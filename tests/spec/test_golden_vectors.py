"""Golden vectors: a frozen helper record and fixed soft readings give fixed keys and MACs.

Everything here is a literal written once, from a run of the code as it was when the vectors
were made (BCH(208,140,t=9) over GF(2^8) on rank pairs, the chosen code, helper data v3, a
build with design offsets): the record, the readings and the offsets (formulas of each RO), the
nonce, and what must come out of them: the
key-check value (stored in the record), the secret, the master and attestation keys, and the
MAC. The host's reconstruction, the device model and the key engine gateware must each
reproduce them. Host and gateware share ``spec/`` (field, generator, labels, formats); a change
there moves both together and every other test still passes, but every enrolled record would
break: these literals catch it.
Eight of the 208 corrected readings disagree with the enrolled bits, so the decoder corrects
errors too; six more would if the offsets were ignored.
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
#: The helper record (v3: rank pairs) of a die enrolled with the chosen code on a build with
#: design offsets (:func:`offset`).
RECORD = bytes.fromhex(
    "5250484403017001080900d00604100006000560a80e912a16b1ad1ef2315f76386796b3b3abbbc3ccbd0240"
    "672ef33137239e3df4214634a672e7708338b4975b7f0250660b50d31161594764b75385675f96286ba6e98a"
    "39341aa1da21b25c29d2de33035f3b13e062b67bb3cb7dbbebff0120530940f831f34f3904737af8308718b2"
    "8f49359769b70520950d71181661b81f92294f65255b767a6ab9fba3cabd1981d921a25b29c2dd32f35e39fa"
    "7aabbafcb3db7ebbfc310100510920e536f3b13f34d47ae7f08328748b58f69379b81241671aa1c825b5635a"
    "65e962b67d6ac73e8b8979a3aefc25729a2dd33035f3b13e04324614b35ac63e66d6ff72e7af04b08d0cf111"
    "1521931d42152b53363b74388f993a97b9bc0130650a60e712816a1ad1f05365775b85ec62fa79afabbb22c2"
    "6e28c2fe35d39f3e14236bf6ef7307b18328b3934b7d0ed340cd203970bec27809e4c7f111c38f20167d3c86"
    "d5119b9586d221653a8d18a641a8bec5"
)
NONCE = bytes(range(0x40, 0x60))
KCV = bytes.fromhex("86d221653a8d18a6")
SECRET = bytes.fromhex("e1c3870e1c3870e1c3870e1c3870e1c38700")
MASTER = bytes.fromhex("ccf4cb671953fd342196cbf8038263e905350b19e19ebf64412aa8ca78426bc5")
ATTESTATION_KEY = bytes.fromhex("ba026e61239ca0b8e1c1efc2284899a756a40557568eafcb7166a66d619abd40")
MAC = bytes.fromhex("f83d01370a27dc2d665cf0e92d03798d1c4b40af3e198156d1541529b4973106")


def count(ro: int) -> int:
    """The fixed reading of RO *ro* (what the pairs were chosen from)."""
    return (ro * 7919) % 1999 - 999


def offset(ro: int) -> int:
    """The build's design offset of RO *ro*."""
    return (ro * 37) % 2001 - 1000


OFFSETS = tuple(offset(ro) for ro in range(N_RO))


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
        [count(ro) - offset(ro) for ro in range(N_RO)], CHOSEN.selected_bits
    )
    readings = np.array([soft_reading(a, b) for a, b in helper.pairs])
    counts = np.array([count(ro) for ro in range(N_RO)])
    keys = reconstruct(helper, counts, offsets=OFFSETS)
    thresholds = [offset(a) - offset(b) for a, b in helper.pairs]
    corrected = corrected_batch(readings[None, :], thresholds, CHOSEN.soft_width)
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
        offsets=OFFSETS,
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
    engine = KeyEngine(code=CHOSEN, n_ro=N_RO, count_width=16, soft_width=16, offsets=OFFSETS)
    requests = [(Command.LOAD_HELPER, chunk) for chunk in commands.encode_load_helper(RECORD)]
    requests += [(Command.RECONSTRUCT, b""), (Command.ATTEST, NONCE)]
    answers = drive_handler(engine, requests, soft_of_pair=soft_reading)
    assert [(status, payload) for status, payload, _ in answers[-2:]] == [
        (Status.OK, b""),
        (Status.OK, MAC),
    ]
