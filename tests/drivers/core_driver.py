"""Drive a device core in Amaranth's simulator, request by request, and the model alike."""

from amaranth.sim import Simulator

from ropuf.spec.commands import Status


def run(dut, rates, requests, *, seed=99, noise_scale=20000, common_scale=9000):
    """Send (seq, code, payload, status) requests; return (seq, status, payload) answers."""
    answers = []

    async def testbench(ctx):
        for addr, rate in enumerate(rates):
            ctx.set(dut.sim.rate_addr, addr)
            ctx.set(dut.sim.rate_data, rate)
            ctx.set(dut.sim.rate_we, 1)
            await ctx.tick()
        ctx.set(dut.sim.rate_we, 0)
        ctx.set(dut.sim.seed, seed)
        ctx.set(dut.sim.noise_scale, noise_scale)
        ctx.set(dut.sim.common_scale, common_scale)
        ctx.set(dut.sim.seed_we, 1)
        await ctx.tick()
        ctx.set(dut.sim.seed_we, 0)
        for seq, code, payload, status in requests:
            ctx.set(
                dut.i_request.payload,
                {"seq": seq, "code": code, "length": len(payload), "status": status},
            )
            ctx.set(dut.i_request.valid, 1)
            await ctx.tick().until(dut.i_request.ready)
            ctx.set(dut.i_request.valid, 0)
            for byte in payload:
                ctx.set(dut.i_payload.payload, byte)
                ctx.set(dut.i_payload.valid, 1)
                await ctx.tick().until(dut.i_payload.ready)
            ctx.set(dut.i_payload.valid, 0)
            ctx.set(dut.o_response.ready, 1)
            *_, header = await ctx.tick().sample(dut.o_response.payload).until(dut.o_response.valid)
            ctx.set(dut.o_response.ready, 0)
            data = bytearray()
            ctx.set(dut.o_payload.ready, 1)
            while len(data) < header.length:
                *_, byte = await ctx.tick().sample(dut.o_payload.payload).until(dut.o_payload.valid)
                data.append(byte)
            ctx.set(dut.o_payload.ready, 0)
            answers.append((header.seq, header.status, bytes(data)))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    return answers


def expected(model, requests):
    out = []
    for seq, code, payload, status in requests:
        if status != Status.OK:
            out.append((seq, status, b""))
        else:
            answer_status, answer = model.handle(code, payload)
            out.append((seq, answer_status, answer))
    return out
