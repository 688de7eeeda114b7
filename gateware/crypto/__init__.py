"""Hash and check-sum cores: SHA-256, HMAC-SHA256, CRC-32."""
