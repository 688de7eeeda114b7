"""Replay safety under concurrency (issue 13): four real ``ropuf serve`` processes on one
PostgreSQL database. One nonce posted by 16 concurrent clients spread over the four is
accepted exactly once; a server killed with SIGKILL in the middle of a load loses no accepted
nonce: after its restart every accepted nonce is refused as a replay by every server, and the
database is consistent (each accepted nonce spent, each accepted verdict logged)."""

import os
import secrets
import threading
import time

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ropuf.host.registry import EnrollmentRecord, Registry
from ropuf.host.service.tokens import create_token
from ropuf.spec.attestation import attestation_mac
from tests.drivers.serve_process import ServeProcess

SERVERS = 4
CLIENTS = 16
MASTER = secrets.token_bytes(32)
#: One device per client of the kill test; three more for the rounds of the same-nonce test.
DEVICES = [f"dev-{index:02d}" for index in range(CLIENTS)]
ONCE = ["once-0", "once-1", "once-2"]
KEYS = {device_id: secrets.token_bytes(32) for device_id in DEVICES + ONCE}


def helper(device_id: str) -> bytes:
    return f"helper data of {device_id}".encode()


@pytest.fixture(scope="module")
def fleet(postgres_server_url, tmp_path_factory):
    """A fresh database with CLIENTS devices and an application token, served by SERVERS
    processes."""
    import psycopg

    name = f"ropuf_replay_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = postgres_server_url.rsplit("/", 1)[0] + "/" + name
    key_file = tmp_path_factory.mktemp("replay") / "master.key"
    key_file.write_text(MASTER.hex() + "\n")
    os.chmod(key_file, 0o600)
    owner = Ed25519PrivateKey.generate()
    public = owner.public_key().public_bytes_raw()
    with Registry(url, MASTER) as registry:
        for device_id in DEVICES + ONCE:
            record = EnrollmentRecord(
                device_id, "2026-12-06T00:00:00+00:00", {"n_ro": 8}, helper(device_id), public
            )
            registry.enroll(record, KEYS[device_id], owner)
        token = create_token(registry, public.hex(), "application")[1]
    servers = [ServeProcess(["--registry", url, "--master-key", str(key_file)])
               for _ in range(SERVERS)]  # fmt: skip
    try:
        for server in servers:
            server.wait_ready()
        yield {"servers": servers, "token": token, "url": url,
               "registry": ["--registry", url, "--master-key", str(key_file)]}  # fmt: skip
    finally:
        for server in servers:
            server.stop()
        with psycopg.connect(postgres_server_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def client(fleet, server) -> httpx.Client:
    headers = {"Authorization": f"Bearer {fleet['token']}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


def answer(device_id: str, nonce_hex: str) -> dict:
    mac = attestation_mac(KEYS[device_id], helper(device_id), bytes.fromhex(nonce_hex))
    return {"device_id": device_id, "nonce": nonce_hex, "mac": mac.hex()}


def test_one_nonce_from_16_clients_on_4_servers_is_accepted_once(fleet):
    servers = fleet["servers"]
    clients = [client(fleet, servers[i % SERVERS]) for i in range(CLIENTS)]
    try:
        for round_number, device_id in enumerate(ONCE):
            issued = clients[round_number].post("/v1/challenges", json={"device_id": device_id})
            body = answer(device_id, issued.json()["nonce"])
            start = threading.Barrier(CLIENTS)
            verdicts = []

            def offer(mine: httpx.Client, body=body, start=start, verdicts=verdicts) -> None:
                start.wait()
                verdicts.append(mine.post("/v1/attestations", json=body).json())

            threads = [threading.Thread(target=offer, args=(c,)) for c in clients]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert len(verdicts) == CLIENTS
            assert sum(v["ok"] for v in verdicts) == 1, verdicts
            refused = {v["reason"] for v in verdicts if not v["ok"]}
            assert refused == {"replayed nonce: it was used before"}
    finally:
        for mine in clients:
            mine.close()
    import psycopg

    with psycopg.connect(fleet["url"]) as db:
        logged = db.execute(
            "SELECT device_id, COUNT(*), SUM(ok) FROM attestations WHERE device_id = ANY(%s)"
            " GROUP BY device_id ORDER BY device_id",
            (ONCE,),
        ).fetchall()
    assert logged == [(device_id, CLIENTS, 1) for device_id in ONCE]


def test_sigkill_during_load_loses_no_accepted_nonce(fleet):
    """CLIENTS threads attest in a loop, each its own device, round robin over the servers;
    server 1 is killed with SIGKILL in the middle and restarted."""
    import psycopg

    servers = fleet["servers"]
    victim = servers[1]
    accepted: dict[str, list[dict]] = {device_id: [] for device_id in DEVICES}
    lost: dict[str, int] = dict.fromkeys(DEVICES, 0)
    stop = threading.Event()
    wrong: list[str] = []  # what a thread saw that it should not have (asserted below)

    def load(device_id: str, first: int) -> None:
        clients = [client(fleet, server) for server in servers]
        turn = first
        try:
            while not stop.is_set():
                mine = clients[turn % SERVERS]
                turn += 1
                try:
                    issued = mine.post("/v1/challenges", json={"device_id": device_id})
                except httpx.TransportError:
                    continue  # the killed server: no challenge, nothing at stake
                body = answer(device_id, issued.json()["nonce"])
                try:
                    verdict = clients[turn % SERVERS].post("/v1/attestations", json=body)
                except httpx.ConnectError:
                    continue  # the killed server refused the connection: nothing was sent
                except httpx.TransportError:
                    # Sent as the server died (or on its dead kept-alive connection): the
                    # verdict is unknown, committed or not.
                    lost[device_id] += 1
                    continue
                if verdict.status_code != 200 or not verdict.json()["ok"]:
                    wrong.append(verdict.text)
                    continue
                accepted[device_id].append(body)
        finally:
            for mine in clients:
                mine.close()

    threads = [threading.Thread(target=load, args=(d, i)) for i, d in enumerate(DEVICES)]
    for thread in threads:
        thread.start()

    def accepted_count() -> int:
        return sum(len(bodies) for bodies in accepted.values())

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 30
        while accepted_count() < count and time.monotonic() < deadline and not wrong:
            time.sleep(0.05)

    wait_for(40)  # the load is running on all four
    victim.kill()
    before = accepted_count()
    wait_for(before + 40)  # and goes on over the three others
    stop.set()
    for thread in threads:
        thread.join()
    assert wrong == []
    assert before >= 40 and accepted_count() >= before + 40, "the load stalled"
    # an answer in flight when it died, and one on its dead kept-alive connection, a client
    assert max(lost.values()) <= 2, lost
    victim.stop()  # only its output file: it is dead
    restarted = ServeProcess(fleet["registry"], victim.port)
    servers[1] = restarted
    restarted.wait_ready()

    # Every accepted nonce is refused as a replay, by every server, the restarted one too.
    replays = [client(fleet, server) for server in servers]
    try:
        for index, body in enumerate(b for bodies in accepted.values() for b in bodies):
            verdict = replays[index % SERVERS].post("/v1/attestations", json=body).json()
            assert verdict == {"device_id": body["device_id"], "ok": False,
                               "reason": "replayed nonce: it was used before"}  # fmt: skip
    finally:
        for mine in replays:
            mine.close()

    # The database: each accepted nonce spent; the verdicts logged per device are the accepted
    # ones (plus at most the one answer lost with the killed server, if it committed).
    with psycopg.connect(fleet["url"]) as db:
        for device_id, bodies in accepted.items():
            nonces = [bytes.fromhex(body["nonce"]) for body in bodies]
            spent = db.execute(
                "SELECT COUNT(*) FROM challenges WHERE nonce = ANY(%s) AND spent_at IS NOT NULL",
                (nonces,),
            ).fetchone()[0]
            assert spent == len(bodies)
            ok = db.execute(
                "SELECT COUNT(*) FROM attestations WHERE device_id = %s AND ok = 1", (device_id,)
            ).fetchone()[0]
            assert len(bodies) <= ok <= len(bodies) + lost[device_id], device_id
        # no transaction of the killed server is left open holding locks
        idle = db.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state = 'idle in transaction'"
        ).fetchone()[0]
        assert idle == 0
