"""Hash cores: SHA-256 and HMAC-SHA256.

The CRC-32 processor is Amaranth's (``amaranth.lib.crc``), built from :data:`ropuf.spec.crc.CRC32`.
"""
