"""HMAC-SHA256 (RFC 2104, FIPS 198-1) on one :class:`~ropuf.gateware.crypto.sha256.SHA256` core.

``HMAC(K, m) = H((K0 ^ opad) || H((K0 ^ ipad) || m))``, with ``K0`` the key zero-padded to 64
bytes. The wrapper feeds the core through its byte interface: the 64 bytes of ``K0 ^ ipad``
(made on the fly from the key port), then the message, then, once the inner digest is out, the
64 bytes of ``K0 ^ opad`` and the 32 bytes of the inner digest, which it holds meanwhile in a
256-bit shift register (emptied to zeros as it is sent). Nothing derived from the key reaches an
output port: the MAC port is gated, zero except while it offers the final MAC (the core's digest
port shows its chaining value, key-dependent after the first block, at all times).

Area, iCE40UP5K (Yosys ``synth_ice40``, nextpnr, 32-byte key): about 2,250 logic cells (the
core's 1,700, then the inner digest register and the output gate, 256 each) and 6 block RAMs,
24 MHz.
"""

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .sha256 import BLOCK_CYCLES, FINAL_CYCLES, MESSAGE_BYTE, SHA256, blocks

__all__ = ["HMACSHA256", "IPAD", "OPAD", "check_key_bytes", "mac_cycles"]

#: The inner and outer pad bytes.
IPAD = 0x36
OPAD = 0x5C


def check_key_bytes(key_bytes: object) -> int:
    """Return *key_bytes* if it is a valid key length in bytes (1 to 64), else raise.

    Raises
    ------
    TypeError
        *key_bytes* is not an integer.
    ValueError
        *key_bytes* is not between 1 and 64 (longer keys are hashed first by HMAC; hash them
        before they reach this block).
    """
    if not isinstance(key_bytes, int) or isinstance(key_bytes, bool):
        raise TypeError(f"Key length must be an integer number of bytes, not {key_bytes!r}")
    if not 1 <= key_bytes <= 64:
        raise ValueError(f"Key length must be between 1 and 64 bytes, not {key_bytes!r}")
    return key_bytes


def mac_cycles(length: int) -> int:
    """Clock cycles from the first message beat offered to ``o_mac.valid`` for a *length*-byte
    message, when each beat is offered as soon as the block is ready for it.

    The count starts at the edge where ``i_stream.valid`` is first seen (cycle 0) and ends at the
    first edge where ``o_mac.valid`` is high. It is 1 (start) + the inner hash over
    ``64 + length`` bytes + 1 (taking the inner digest) + the outer hash over 96 bytes.
    """
    inner = BLOCK_CYCLES * blocks(64 + length) + FINAL_CYCLES
    outer = BLOCK_CYCLES * blocks(96) + FINAL_CYCLES
    return 1 + inner + 1 + outer


class HMACSHA256(wiring.Component):
    """HMAC-SHA256 with a fixed-length key, one SHA-256 core inside.

    Parameters
    ----------
    key_bytes : int
        Key length in bytes, 1 to 64 (default 32). A shorter key of a protocol that allows
        several lengths can be given here as the longest one, zero bytes appended at its end:
        HMAC pads the key with zeros anyway, so the MAC is the same.

    Attributes
    ----------
    key : In(8 * key_bytes)
        The key as a big-endian integer (key byte 0 in the top bits). It must stay stable from
        the first message beat offered until ``o_mac`` is taken. It never reaches an output.
    i_stream : In(stream.Signature(MESSAGE_BYTE))
        The message, one byte per transfer, ``last`` or ``empty`` ending it as for
        :class:`~ropuf.gateware.crypto.sha256.SHA256` (a single ``empty`` beat is the empty
        message).
        The MAC starts when ``valid`` is first high: ``ready`` stays low for 129 cycles (the
        start, 64 cycles feeding ``K0 ^ ipad``, the 64 rounds hashing it), then follows the
        core's ``ready`` until the message has ended, and stays low until the MAC is taken.
    o_mac : Out(stream.Signature(256))
        The MAC, byte 0 in bits 255..248 (the big-endian integer of ``hmac.digest(...)``).
        ``valid`` stays high with the payload stable until ``ready``; the payload is zero
        whenever ``valid`` is low. A truncated tag is the top bits.

    Notes
    -----
    An n-byte message offered at full rate gives ``o_mac.valid`` :func:`mac_cycles` (n) cycles
    after its first beat is offered: ``128 * blocks(64 + n) + 274`` with
    ``blocks(k) = ceil((k + 9) / 64)`` (the outer hash is always 2 blocks); 530 cycles for a
    32-byte message. The cycle count depends on the message length and stalls only, never on
    the key or the data.

    Raises
    ------
    TypeError, ValueError
        *key_bytes* is not an integer from 1 to 64.
    """

    def __init__(self, *, key_bytes: int = 32):
        self._key_bytes = check_key_bytes(key_bytes)
        super().__init__(
            {
                "key": In(8 * self._key_bytes),
                "i_stream": In(stream.Signature(MESSAGE_BYTE)),
                "o_mac": Out(stream.Signature(256)),
            }
        )

    @property
    def key_bytes(self) -> int:
        return self._key_bytes

    def elaborate(self, platform):
        m = Module()
        m.submodules.sha = sha = SHA256()

        idx = Signal(6)  # byte index within K0 ^ pad, or within the inner digest
        inner = Signal(256)  # the inner digest, sent from the top byte; zeros shift in

        # K0 as 64 bytes, byte 0 in the top bits: the key followed by zero bytes.
        k0 = Cat(Const(0, 8 * (64 - self._key_bytes)), self.key)
        k0_byte = k0.word_select(~idx, 8)

        core_in = sha.i_stream
        core_taken = core_in.valid & core_in.ready

        def pad_key(pad, after):
            # The padded key XOR *pad*, 64 bytes, then state *after*.
            m.d.comb += [core_in.valid.eq(1), core_in.payload.data.eq(k0_byte ^ pad)]
            with m.If(core_taken):
                m.d.sync += idx.eq(idx + 1)
                with m.If(idx == 63):
                    m.next = after

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.i_stream.valid):
                    m.next = "IPAD"

            with m.State("IPAD"):
                pad_key(IPAD, "MESSAGE")

            with m.State("MESSAGE"):
                m.d.comb += [
                    core_in.valid.eq(self.i_stream.valid),
                    core_in.payload.eq(self.i_stream.payload),
                    self.i_stream.ready.eq(core_in.ready),
                ]
                with m.If(core_taken & (self.i_stream.payload.last | self.i_stream.payload.empty)):
                    m.next = "INNER_DIGEST"

            with m.State("INNER_DIGEST"):
                m.d.comb += sha.o_digest.ready.eq(1)
                with m.If(sha.o_digest.valid):
                    m.d.sync += inner.eq(sha.o_digest.payload)
                    m.next = "OPAD"

            with m.State("OPAD"):
                pad_key(OPAD, "OUTER")

            with m.State("OUTER"):
                m.d.comb += [
                    core_in.valid.eq(1),
                    core_in.payload.data.eq(inner[-8:]),
                    core_in.payload.last.eq(idx == 31),
                ]
                with m.If(core_taken):
                    m.d.sync += [inner.eq(Cat(Const(0, 8), inner[:-8])), idx.eq(idx + 1)]
                    with m.If(idx == 31):
                        m.d.sync += idx.eq(0)
                        m.next = "MAC"

            with m.State("MAC"):
                m.d.comb += [
                    self.o_mac.valid.eq(sha.o_digest.valid),
                    sha.o_digest.ready.eq(self.o_mac.ready),
                ]
                with m.If(sha.o_digest.valid):  # not the outer chaining value before that
                    m.d.comb += self.o_mac.payload.eq(sha.o_digest.payload)
                with m.If(self.o_mac.valid & self.o_mac.ready):
                    m.next = "IDLE"

        return m
