"""Drive a command handler (:mod:`ropuf.gateware.core.handler`) in Amaranth's simulator.

Used by tests and benchmarks of the key engine: requests go in through the handler port as the
command processor would send them, and each answer comes back with the cycles the handler
took from ``start`` to ``done``. An RO array stand-in answers every pair at once with a soft
value from a table, so the cycle counts are the handler's own.
"""

from collections.abc import Callable, Sequence

from amaranth.sim import Simulator

__all__ = ["Answer", "drive_handler"]

#: (status, response payload, cycles from start to done)
Answer = tuple[int, bytes, int]


def drive_handler(
    component,
    requests: Sequence[tuple[int, bytes]],
    *,
    soft_of_pair: Callable[[int, int], int] | None = None,
) -> list[Answer]:
    """Send ``(code, payload)`` requests to ``component.h``; return the answers.

    Parameters
    ----------
    component
        A component with a handler port ``h`` and, if *soft_of_pair* is given, ``ro_pairs``
        and ``ro_results`` ports (the key engine).
    soft_of_pair : callable, optional
        ``(a, b) -> soft``: the RO array stand-in's answer for a pair.
    """
    h = component.h
    answers: list[Answer] = []

    async def request(ctx, code: int, payload: bytes) -> Answer:
        ctx.set(h.code, code)
        ctx.set(h.length, len(payload))
        ctx.set(h.start, 1)
        await ctx.tick()
        ctx.set(h.start, 0)
        cycles = 1
        for byte in payload:
            ctx.set(h.payload.payload, byte)
            ctx.set(h.payload.valid, 1)
            await ctx.tick().until(h.payload.ready)
        ctx.set(h.payload.valid, 0)
        while not ctx.get(h.done):
            await ctx.tick()
            cycles += 1
        data = bytearray()
        ctx.set(h.response.ready, 1)
        for _ in range(ctx.get(h.out_length)):
            *_, byte = await ctx.tick().sample(h.response.payload).until(h.response.valid)
            data.append(byte)
        ctx.set(h.response.ready, 0)
        return ctx.get(h.status), bytes(data), cycles

    async def testbench(ctx):
        for code, payload in requests:
            answers.append(await request(ctx, code, payload))

    async def ro_array(ctx):
        while True:
            ctx.set(component.ro_pairs.ready, 1)
            *_, pair = (
                await ctx.tick().sample(component.ro_pairs.payload).until(component.ro_pairs.valid)
            )
            ctx.set(component.ro_pairs.ready, 0)
            ctx.set(component.ro_results.payload.soft, soft_of_pair(pair.a, pair.b))
            ctx.set(component.ro_results.valid, 1)
            await ctx.tick().until(component.ro_results.ready)
            ctx.set(component.ro_results.valid, 0)

    sim = Simulator(component)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    if soft_of_pair is not None:
        sim.add_testbench(ro_array, background=True)
    sim.run()
    return answers
