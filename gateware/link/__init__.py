"""Serial link: UART, COBS, framing, and the loopback and frame-echo test designs."""
