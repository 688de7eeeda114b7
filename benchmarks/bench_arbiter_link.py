"""Arbiter PUF CRPs per second: the vectorised model, the ARBITER handler and the device link.

Usage::

    .venv/bin/python benchmarks/bench_arbiter_link.py

1. The vectorised model (``ropuf.sim.arbiter_model``): a million CRPs of a 64-stage die, k = 1
   and k = 4, noise-free and noisy (float model), and the integer model of the simulation
   body (``gateware_responses``, whose noise generator is a Python loop).
2. The Python model of the handler (``ropuf.sim.arbiter_device.ArbiterDevice``): full requests
   of 31 challenges, alone and behind the host client and framing (``FastDevice``).
3. The handler gateware in Amaranth's simulator: full requests, every answer checked against
   the model; wall-clock CRPs per second, cycles per request, and what those cycles give on a
   12 MHz board, beside the bound a 115,200-baud link sets.
4. The CRP authentication threshold per k, from the fleet's reliability and uniqueness
   (``ropuf.sim.arbiter_fleet.crp_error_rates``, ``ropuf.host.crp_auth.choose_threshold``).
5. A Monte Carlo check of the binomial false-reject and false-accept estimates, with short
   authentications whose error rates can be measured.
6. The simulated board in Verilator over its TCP link (``ropuf sim serve``), when it answers
   ARBITER; answers checked against the fast model device for the same condition.
"""

import random
import time

import numpy as np

from ropuf.gateware.arbiter.handler import ArbiterHandler
from ropuf.host.client import DeviceClient, DeviceError
from ropuf.host.crp import collect_crps
from ropuf.host.crp_auth import choose_threshold, draw_challenges
from ropuf.sim.arbiter_device import ArbiterDevice
from ropuf.sim.arbiter_fleet import crp_error_rates
from ropuf.sim.arbiter_handler_driver import drive
from ropuf.sim.arbiter_model import ArbiterDie, gateware_responses, random_challenges, sim_load
from ropuf.sim.fast_device import FastDevice
from ropuf.spec import arbiter_command, framing
from ropuf.spec.arbiter_command import Form
from ropuf.spec.commands import Command, Status

N_STAGES = 64
CLOCK_HZ = 12e6
BAUD = 115_200


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>12,.0f} CRPs/s"


def wire_bytes(payload: bytes) -> int:
    """Bytes a frame with *payload* takes on the line: COBS-encoded frame and delimiter."""
    return len(framing.encode_frame(1, 0, payload)) + 1


def vectorised_model() -> None:
    print(f"1. Vectorised model, {N_STAGES} stages")
    challenges = random_challenges(1_000_000, N_STAGES, rng=1)
    for k in (1, 4):
        die = ArbiterDie(7, N_STAGES, k)
        for label, kwargs in (("noise-free", {}), ("noisy", {"rng": 2})):
            start = time.perf_counter()
            die.responses(challenges, **kwargs)
            seconds = time.perf_counter() - start
            print(
                f"   ArbiterDie k={k} {label:<10}: 10^6 CRPs in {seconds:5.2f} s "
                f"{rate(10**6, seconds)}"
            )
    load = sim_load(ArbiterDie(7, N_STAGES, 1))
    count = 100_000
    start = time.perf_counter()
    gateware_responses(load.weights, challenges[:count], seed=1, noise_scale=load.noise_scale)
    seconds = time.perf_counter() - start
    print(
        f"   gateware_responses k=1 (integer, on-chip noise): {count:,} CRPs in {seconds:5.2f} s "
        f"{rate(count, seconds)}"
    )


def python_model() -> None:
    print("2. Python model of the ARBITER handler (31 challenges a request)")
    die = ArbiterDie(7, N_STAGES, 1)
    challenges = draw_challenges(31 * 400, N_STAGES, np.random.default_rng(3))
    collect_crps(ArbiterDevice.for_die(die), challenges[:310], n_stages=N_STAGES)  # warm up
    for votes in (1, 5):
        device = ArbiterDevice.for_die(die)
        start = time.perf_counter()
        collect_crps(device, challenges, n_stages=N_STAGES, votes=votes)
        seconds = time.perf_counter() - start
        print(f"   handle(), votes={votes}            : {rate(len(challenges), seconds)}")
    client = DeviceClient(FastDevice(ArbiterDevice.for_die(die)))
    start = time.perf_counter()
    collect_crps(client, challenges, n_stages=N_STAGES)
    seconds = time.perf_counter() - start
    print(f"   DeviceClient + framing, votes=1: {rate(len(challenges), seconds)}")


def amaranth_handler() -> None:
    print("3. ARBITER handler gateware in Amaranth's simulator (k=1, 31 challenges a request)")
    die = ArbiterDie(7, N_STAGES, 1)
    load = sim_load(die)
    dut = ArbiterHandler(n_stages=N_STAGES, k=1, simulation=True)
    rng = random.Random(4)
    most = arbiter_command.max_challenges(N_STAGES)
    for votes in (1, 5):
        requests = []
        for _ in range(8):
            challenges = [rng.getrandbits(N_STAGES) for _ in range(most)]
            payload = arbiter_command.encode_request(challenges, n_stages=N_STAGES, votes=votes)
            requests.append((Command.ARBITER, payload, False))
        model = ArbiterDevice.for_die(die)
        start = time.perf_counter()
        got = drive(dut, load.weights, requests, seed=1, noise_scale=load.noise_scale)
        seconds = time.perf_counter() - start
        expected = [model.handle(code, payload) for code, payload, _ in requests]
        assert [(s, a) for s, a, _ in got] == expected, "the gateware and the model disagree"
        cycles = got[0][2]
        assert cycles == dut.cycles(len(requests[0][1]), Form.MAJORITY, votes)
        crps = most * len(requests)
        board = most * CLOCK_HZ / cycles
        line = (wire_bytes(requests[0][1]) + wire_bytes(got[0][1])) * 10 / BAUD
        print(
            f"   votes={votes}: simulated {rate(crps, seconds)}; {cycles:,} cycles a request: "
            f"{board:,.0f} CRPs/s on a {CLOCK_HZ / 1e6:.0f} MHz board"
        )
        print(
            f"            a request and its answer take {line * 1e3:.1f} ms on a {BAUD:,}-baud "
            f"line: the link allows {most / (line + cycles / CLOCK_HZ):,.0f} CRPs/s"
        )


def verilator_link() -> None:
    print("6. Simulated board in Verilator over TCP (ropuf sim serve)")
    from ropuf.sim.board import SIM_DIVISOR, Condition, SimulatedBoard, device_model

    condition = Condition(die_seed=21)
    challenges = draw_challenges(31 * 4, N_STAGES, np.random.default_rng(5))
    probe = arbiter_command.encode_request([0], n_stages=N_STAGES)
    with SimulatedBoard(condition) as board, DeviceClient.open(board.url, timeout=120) as client:
        try:
            client.request(Command.ARBITER, probe)
        except DeviceError as exc:
            if exc.status != Status.UNKNOWN_COMMAND:
                raise
            print("   the simulated board does not answer ARBITER yet: the handler is not wired")
            return
        start = time.perf_counter()
        bits = collect_crps(client, challenges, n_stages=N_STAGES)
        seconds = time.perf_counter() - start
    fast = DeviceClient(FastDevice(device_model(condition)))
    try:
        fast.request(Command.ARBITER, probe)
        expected = collect_crps(fast, challenges, n_stages=N_STAGES)
        checked = "equal to the fast model device's"
        assert bits.tolist() == expected.tolist(), "the Verilator board and the model disagree"
    except DeviceError:
        checked = "not checked: the fast model device does not answer ARBITER yet"
    print(
        f"   {len(challenges)} CRPs (UART divisor {SIM_DIVISOR}), {rate(len(challenges), seconds)} "
        f"of wall time; answers {checked}"
    )


def threshold_table() -> None:
    print("4. CRP authentication threshold (40 dies, 2,000 challenges; enrolment: 15 votes at")
    print("   25 C, stable challenges only; answers: majority of 5 votes; intra-chip HD in %)")
    print(
        "    k   kept  intra 25 C  worst corner (mean)  worst die, any corner  inter"
        "  n_bits  max errors  false reject  false accept"
    )
    for k in (1, 2, 3, 4, 5):
        r = crp_error_rates(k=k, n_stages=N_STAGES, enrol_votes=15, auth_votes=5)
        corner = r.worst_corner
        for n_bits in (64, 128):
            t = choose_threshold(n_bits, r.worst_intra, r.inter_pairs, votes=5)
            print(
                f"   {k:>2} {100 * r.kept:5.1f} {100 * r.intra['25 C, 1.20 V']:10.2f}  "
                f"{100 * r.intra[corner]:5.2f} {corner:<13} {100 * r.worst_intra:21.2f} "
                f"{100 * r.inter:6.2f} {n_bits:>7} {t.max_errors:>11} {t.false_reject:13.1e} "
                f"{t.false_accept:13.1e}"
            )


def threshold_check(n_bits: int = 16) -> None:
    """Monte Carlo of authentications with few bits, where the error rates are measurable,
    against the binomial estimate (same enrolment and answers as above, worst corner)."""
    print(f"5. Check of the estimate with {n_bits}-bit authentications (40 dies, 85 C, 1.26 V)")
    noise = np.random.default_rng(8)
    challenges = random_challenges(4000, N_STAGES, rng=9)
    for k in (1, 3, 5):
        dies = [ArbiterDie(i, N_STAGES, k) for i in range(40)]
        r = crp_error_rates(k=k, n_stages=N_STAGES, enrol_votes=15, auth_votes=5)
        t = choose_threshold(n_bits, r.worst_intra, r.inter_pairs, votes=5)
        rejected = accepted = trials = 0
        for index, die in enumerate(dies):
            enrol = die.responses(challenges, rng=noise, repeats=15).sum(axis=0)
            keep = (enrol == 0) | (enrol == 15)
            reference = (enrol[keep] > 7).astype(np.uint8)
            groups = len(reference) // n_bits
            hot = die.responses(challenges[keep], 85.0, 1.26, rng=noise, repeats=5).sum(axis=0)
            other = dies[(index + 1) % len(dies)]
            foreign = other.responses(challenges[keep], rng=noise, repeats=5).sum(axis=0)
            for answers, counter in ((hot > 2, "genuine"), (foreign > 2, "impostor")):
                wrong = (answers != reference)[: groups * n_bits].reshape(groups, n_bits)
                errors = wrong.sum(axis=1)
                if counter == "genuine":
                    rejected += int(np.count_nonzero(errors > t.max_errors))
                    trials += groups
                else:
                    accepted += int(np.count_nonzero(errors <= t.max_errors))
        print(
            f"   k={k}: max errors {t.max_errors}; false reject {rejected / trials:.1e} measured, "
            f"{t.false_reject:.1e} estimated; false accept {accepted / trials:.1e} measured, "
            f"{t.false_accept:.1e} estimated ({trials:,} trials each)"
        )


def main() -> None:
    vectorised_model()
    python_model()
    amaranth_handler()
    threshold_table()
    threshold_check()
    verilator_link()


if __name__ == "__main__":
    main()
