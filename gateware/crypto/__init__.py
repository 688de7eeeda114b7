"""Hash cores: SHA-256 and HMAC-SHA256.

CRC-32: :class:`.crc32.SerialCRC32`, Amaranth's bit-serial ``amaranth.lib.crc`` processor of
:data:`ropuf.spec.crc.CRC32`, fed a byte in eight cycles.
"""
