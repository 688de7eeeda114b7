"""Host side: transports, device client, enrollment, attestation, registry, metrics, CLI."""
