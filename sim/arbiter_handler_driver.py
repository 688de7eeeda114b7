"""Drive the ARBITER handler (:class:`~ropuf.gateware.arbiter.handler.ArbiterHandler`) in
Amaranth's simulator, as the command processor does: pulse ``start`` with the code, length and
lock state, offer exactly ``length`` payload bytes, wait for ``done``, take exactly
``out_length`` answer bytes. Used by its tests and its benchmark.
"""

from amaranth.sim import Simulator

from ropuf.spec import arbiter_command
from ropuf.spec.arbiter_command import Form
from ropuf.spec.errors import RopufError

__all__ = ["HungError", "drive"]


class HungError(RopufError, AssertionError):
    """The handler did not finish a request within its bound."""


def drive(dut, weights, requests, *, seed, noise_scale, rng=None, limit=None):
    """Load a die, run ``(code, payload, locked)`` requests; return ``(status, answer, cycles)``
    for each.

    Parameters
    ----------
    dut : ArbiterHandler
        Built with ``simulation=True``.
    weights : array_like of int, shape (k, n_stages + 1)
        Loaded through ``dut.sim`` first, with *seed* and *noise_scale*.
    requests : sequence of (int, bytes, bool)
        Code, payload and the lock state the processor reports.
    rng : random.Random, optional
        Stall the payload and the answer at random (three cycles in ten).
    limit : callable, optional
        ``(code, payload, locked) -> cycles``: the most a request may take. By default twice
        the longest request's cycles plus four per payload byte.

    Returns
    -------
    list of (int, bytes, int)
        Status, answer and cycles: from the cycle ``start`` is high to the cycle the last
        answer byte is taken (or ``done`` is seen, for an empty answer).

    Raises
    ------
    HungError
        A request took longer than its limit: a byte not taken, no ``done``, or an answer byte
        not offered.
    """
    config = dut.config
    longest = arbiter_command.HEADER_BYTES + config.max_challenges * config.challenge_bytes
    worst = dut.cycles(longest, Form.COUNTS, arbiter_command.MAX_VOTES)
    h, load = dut.h, dut.sim
    # Members looked up once: wiring's attribute lookup is slow in a loop of thousands.
    in_valid, in_data, in_ready = h.payload.valid, h.payload.payload, h.payload.ready
    out_valid, out_data, out_ready = h.response.valid, h.response.payload, h.response.ready
    results = []
    bound = limit or (lambda code, payload, locked: 2 * worst + 4 * len(payload))

    def stall():
        return rng is not None and rng.random() < 0.3

    async def testbench(ctx):
        ctx.set(load.weight_we, 1)
        for chain, row in enumerate(weights):
            for stage, weight in enumerate(row):
                ctx.set(load.weight_addr, chain * (dut.config.n_stages + 1) + stage)
                ctx.set(load.weight_data, int(weight))
                await ctx.tick()
        ctx.set(load.weight_we, 0)
        ctx.set(load.seed, seed)
        ctx.set(load.noise_scale, noise_scale)
        ctx.set(load.seed_we, 1)
        await ctx.tick()
        ctx.set(load.seed_we, 0)

        for code, payload, locked in requests:
            budget = bound(code, payload, locked)
            ctx.set(h.code, code)
            ctx.set(h.length, len(payload))
            ctx.set(h.locked, locked)
            ctx.set(h.start, 1)
            await ctx.tick()
            ctx.set(h.start, 0)
            cycles = 1
            # Payload: exactly len(payload) bytes, taken at the handler's pace.
            for byte in payload:
                while stall():
                    ctx.set(in_valid, 0)
                    await ctx.tick()
                    cycles += 1
                ctx.set(in_data, byte)
                ctx.set(in_valid, 1)
                while True:
                    ready = ctx.get(in_ready)
                    await ctx.tick()
                    cycles += 1
                    if ready:
                        break
                    if cycles > budget:
                        raise HungError(f"payload byte not taken after {cycles} cycles")
            ctx.set(in_valid, 0)
            while not ctx.get(h.done):
                await ctx.tick()
                cycles += 1
                if cycles > budget:
                    raise HungError(f"no done after {cycles} cycles ({len(payload)}-byte payload)")
            status, length = ctx.get(h.status), ctx.get(h.out_length)
            answer = bytearray()
            while len(answer) < length:
                ready = not stall()
                ctx.set(out_ready, ready)
                valid, byte = ctx.get(out_valid), ctx.get(out_data)
                await ctx.tick()
                cycles += 1
                if valid and ready:
                    answer.append(byte)
                if cycles > budget:
                    raise HungError(f"answer byte {len(answer)} of {length} not offered")
            ctx.set(out_ready, 0)
            assert not ctx.get(out_valid), "no answer byte beyond out_length"
            results.append((status, bytes(answer), cycles))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    return results
