"""Python reference of the device core's command semantics: what every command answers.

The gateware is checked against it, and it is the heart of the fast model device, which
answers the same requests without a simulator.
"""

import hmac
import struct
from dataclasses import replace

import numpy as np

from ropuf.host.fuzzy import corrected_batch, decode_soft
from ropuf.host.kdf import derive_keys, pack_secret
from ropuf.spec import commands, identity, ro_behavioural
from ropuf.spec.attestation import NONCE_BYTES, attestation_mac
from ropuf.spec.commands import Command, Mode, Status
from ropuf.spec.device_config import DeviceConfig
from ropuf.spec.helper_data import HelperData, HelperDataError

from .arbiter_device import ArbiterDevice
from .ro_measure import MeasureConfig, measure_pairs

__all__ = ["DeviceModel"]


class DeviceModel:
    """The answers of one device: a build, a loaded die and a noise state.

    Parameters
    ----------
    params : DeviceConfig
        The build (the same object the gateware is made from).
    rates : sequence of int
        The die's edge rates as loaded into the simulation body.
    seed, noise_scale, common_scale : int
        The noise generator's seed and scales as loaded.
    arbiter : ArbiterDevice, optional
        The arbiter PUF's model (its die and noise), for builds with ``params.arbiter``.
    """

    def __init__(
        self,
        params: DeviceConfig,
        rates,
        *,
        seed: int,
        noise_scale: int,
        common_scale: int,
        arbiter: "ArbiterDevice | None" = None,
    ):
        if (arbiter is None) != (params.arbiter is None) or (
            arbiter is not None and arbiter.config != params.arbiter
        ):
            raise ValueError(f"The build's arbiter is {params.arbiter!r}, the model's {arbiter!r}")
        self.arbiter = arbiter
        self.params = params
        self.rates = [int(r) for r in rates]
        self.noise_scale = noise_scale
        self.common_scale = common_scale
        self.state = ro_behavioural.seed_state(seed)
        self.locked = False
        self.helper = bytearray(params.helper_length)
        self._attestation_key: bytes | None = None
        self._identity_key: int | None = None  # d, with params.identity
        self.config = MeasureConfig(
            params.n_ro, params.gate_cycles, params.count_width, params.soft_width
        )
        self._info = params.info

    @property
    def key_ready(self) -> bool:
        return self._attestation_key is not None

    def info(self) -> commands.Info:
        """What INFO answers now."""
        mode = Mode.LOCKED if self.locked else self._info.mode
        return replace(self._info, mode=mode, key_ready=self.key_ready)

    def _measure(self, pairs) -> list:
        results, self.state = measure_pairs(
            self.rates,
            pairs,
            self.config,
            seed=0,
            noise_scale=self.noise_scale,
            common_scale=self.common_scale,
            state=self.state,
        )
        return results

    def _load_helper(self, payload: bytes) -> tuple[int, bytes]:
        if len(payload) < 2:
            return Status.BAD_PAYLOAD, b""
        offset = int.from_bytes(payload[:2], "little")
        chunk = payload[2:]
        if offset + len(chunk) > len(self.helper):
            return Status.BAD_PAYLOAD, b""
        self.helper[offset : offset + len(chunk)] = chunk
        self._attestation_key = None
        self._identity_key = None
        return Status.OK, b""

    def _reconstruct(self) -> int:
        self._attestation_key = None
        self._identity_key = None
        record = bytes(self.helper)
        try:
            helper = HelperData.from_bytes(record)
        except HelperDataError:
            return Status.BAD_HELPER
        if helper.params != self.params.code or helper.n_ro != self.params.n_ro:
            return Status.BAD_HELPER
        soft = np.array([r.soft for r in self._measure(helper.pairs)], dtype=np.int64)
        thresholds = [self.params.threshold(a, b) for a, b in helper.pairs]
        soft = corrected_batch(soft, thresholds, helper.params.soft_width)
        message, failed = decode_soft(soft[None, :], np.array(helper.offset), helper.params)
        keys = derive_keys(helper.body(), pack_secret(message[0]))
        if failed[0] or not hmac.compare_digest(keys.kcv, helper.kcv):
            return Status.KEY_CHECK_FAILED
        self._attestation_key = keys.attestation
        if self.params.identity:
            self._identity_key = identity.identity_scalar(keys.master)
        return Status.OK

    def _attest(self, nonce: bytes) -> tuple[int, bytes]:
        if len(nonce) != NONCE_BYTES:
            return Status.BAD_PAYLOAD, b""
        if self._attestation_key is None:
            return Status.NO_KEY, b""
        return Status.OK, attestation_mac(self._attestation_key, bytes(self.helper), nonce)

    def _identity(self, payload: bytes) -> tuple[int, bytes]:
        if payload:
            return Status.BAD_PAYLOAD, b""
        if self._identity_key is None:
            return Status.NO_KEY, b""
        return Status.OK, identity.encode_public_key(identity.public_key(self._identity_key))

    def _sign(self, payload: bytes) -> tuple[int, bytes]:
        # The refusals in spec.identity's order: the payload, GENERIC where it is not served
        # (answered before any work), the key.
        try:
            domain, value = identity.decode_sign_request(payload)
        except ValueError:
            return Status.BAD_PAYLOAD, b""
        if domain == identity.SignDomain.GENERIC and not identity.generic_sign_allowed(
            self.info().mode
        ):
            return Status.LOCKED, b""
        if self._identity_key is None:
            return Status.NO_KEY, b""
        h = identity.sign_request_digest(domain, value, bytes(self.helper))
        signature = identity.sign(self._identity_key, h)
        return (Status.FAULT, b"") if signature is None else (Status.OK, signature)

    def handle(self, code: int, payload: bytes) -> tuple[int, bytes]:
        """The (status, payload) answer to one CRC-checked request."""
        enrollment = self.params.variant == "enrollment"
        if code == Command.INFO:
            if payload:
                return Status.BAD_PAYLOAD, b""
            return Status.OK, self.info().encode()
        if code == Command.LOCK:
            if payload:
                return Status.BAD_PAYLOAD, b""
            if enrollment:
                self.locked = True
            return Status.OK, b""
        if code == Command.READ_RO and enrollment:
            if self.locked:
                return Status.LOCKED, b""
            if not payload or len(payload) % 4 or len(payload) > 4 * commands.MAX_READ_RO_PAIRS:
                return Status.BAD_PAYLOAD, b""
            pairs = [struct.unpack_from("<HH", payload, i) for i in range(0, len(payload), 4)]
            results = self._measure(pairs)
            return Status.OK, commands.encode_read_ro_response(
                [(r.count_a, r.count_b, r.overflow, r.invalid) for r in results]
            )
        if code == Command.ARBITER and self.arbiter is not None:
            return self.arbiter.handle(code, payload, locked=self.locked)
        if self.params.code is not None:
            if code == Command.LOAD_HELPER:
                return self._load_helper(payload)
            if code == Command.RECONSTRUCT:
                if payload:
                    return Status.BAD_PAYLOAD, b""
                return self._reconstruct(), b""
            if code == Command.ATTEST:
                return self._attest(payload)
            if code == Command.IDENTITY and self.params.identity:
                return self._identity(payload)
            if code == Command.SIGN and self.params.identity:
                return self._sign(payload)
        return Status.UNKNOWN_COMMAND, b""
