"""The interface between the command processor and a command handler.

The command processor owns the framing side of every request: it reads the request header,
answers INFO and LOCK itself, and hands every other command it knows to the *handler* that
serves it (the key engine for LOAD_HELPER, RECONSTRUCT and ATTEST; the arbiter for ARBITER).
The handshake, seen from the processor (``Out`` goes to the handler)::

    start    1 cycle   a request for this handler begins; code, length, locked are valid
    code     8         the command code, stable until the answer is sent
    length   16        request payload bytes, stable likewise
    locked   1         the device is locked (enrollment builds after LOCK)
    payload  stream 8  exactly ``length`` request bytes; the handler takes them at its pace
    done     In 1      the handler has an answer: ``status`` and ``out_length`` are valid
    status   In 8      the response status
    out_length In 16   response payload bytes
    response In stream 8  exactly ``out_length`` bytes after the header is sent

The handler must take every payload byte; it may raise ``done`` before the last payload byte
(for example to refuse a request) but the processor sends the header only after the whole
payload is consumed. ``done`` is registered: the handler clears it on ``start`` and raises it
when its answer is ready; the processor looks at it from the cycle after ``start`` on.
"""

from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["HandlerSignature"]


class HandlerSignature(wiring.Signature):
    """A command handler's port, seen from the command processor."""

    def __init__(self):
        super().__init__(
            {
                "start": Out(1),
                "code": Out(8),
                "length": Out(16),
                "locked": Out(1),
                "payload": Out(stream.Signature(8)),
                "done": In(1),
                "status": In(8),
                "out_length": In(16),
                "response": In(stream.Signature(8)),
            }
        )
