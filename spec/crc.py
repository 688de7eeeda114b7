"""CRC-32 (IEEE 802.3, the one :func:`zlib.crc32` computes): one definition for host and gateware.

:data:`CRC32` is Amaranth's catalogued ``CRC32_ISO_HDLC`` over bytes (reflected, polynomial
``0x04C11DB7``, initial value and final XOR all ones, check value ``0xCBF43926``). The same
:class:`~amaranth.lib.crc.Parameters` object gives the software CRC (``CRC32.compute``, which
:func:`crc32` gets from zlib for speed, for frames and helper records) and the hardware one
(``CRC32.algorithm(data_width=1).create()``, the bit-serial
:class:`~amaranth.lib.crc.Processor` inside :class:`ropuf.gateware.crypto.crc32.SerialCRC32`, eight
cycles a byte, used by the frame receiver and transmitter and by the key engine's record check;
``CRC32.create()`` would take a byte a cycle at about three times the area).
``amaranth.lib.crc`` is plain Python until a processor is elaborated, so the host needs no
simulator or toolchain for it.
"""

import zlib

from amaranth.lib.crc import catalog

__all__ = ["CRC32", "CRC32_RESIDUE", "crc32"]

#: The CRC-32 of frames and helper records, one byte per step.
CRC32 = catalog.CRC32_ISO_HDLC(8)

#: :func:`crc32` of any byte string followed by its own CRC (little-endian): a frame whose CRC
#: is right has this CRC over all of its bytes, which is how a receiver checks it on the fly.
#: (The processor's ``match_detected`` compares its register before the final XOR with
#: ``CRC32.residue()``.)
CRC32_RESIDUE = CRC32.residue() ^ CRC32.algorithm.xor_output


def crc32(data: bytes) -> int:
    """CRC-32 of *data*: ``CRC32.compute(data)``, computed by :func:`zlib.crc32`.

    Same algorithm, same number (tests/gateware/crypto/test_crc32.py checks both against each
    other and the hardware); zlib's is C, about 400 times faster than ``compute``'s bit loop in
    Python (0.4 ms for one 262-byte frame, a third of an enrollment's run time on the fast
    model device).
    """
    return zlib.crc32(data)
