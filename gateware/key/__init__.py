"""Key path: the BCH decoder and the key engine (helper record, reconstruction, attestation)."""
