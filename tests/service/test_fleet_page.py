"""The fleet page (``GET /``) through FastAPI's TestClient: sign-in by form (cookie) or header,
owners kept apart, the last verdict and the failures of the last day per device, and the
characterisation plots; on SQLite and PostgreSQL. The same page in a real browser:
``test_fleet_browser.py``."""

import io

import matplotlib.image
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from ropuf.host.registry import Registry, RegistryError
from ropuf.host.service.app import FAILURE_WINDOW, PAGE_COOKIE, create_app
from ropuf.host.service.fleet_page import characterisation_summary, check_summary
from ropuf.host.service.tokens import create_token
from tests.service.test_api import KEYS, MASTER, Clock, answer_of, hexkey, record

SUMMARY = characterisation_summary(
    [0.48, 0.5, 0.52],
    [("25 C 1.10 V", [0.02, 0.03], 1.0, 0.01), ("85 C 1.05 V", [0.06, 0.07], 0.9, 0.04)],
    12 / 224,
    title="two test dies",
)


@pytest.fixture
def fleet(registry_target):
    alice, bob = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    with Registry(registry_target, MASTER) as reg:
        for device_id in ("a1", "a2"):
            reg.enroll(record(device_id, alice), KEYS[device_id], alice)
        reg.enroll(record("b1", bob), KEYS["b1"], bob)
        tokens = {
            "alice": create_token(reg, hexkey(alice), "owner", "a")[1],
            "alice_app": create_token(reg, hexkey(alice), "application", "a")[1],
            "bob": create_token(reg, hexkey(bob), "owner", "b")[1],
        }
    clock = Clock()
    with TestClient(create_app(registry_target, MASTER, clock=clock)) as client:
        yield {"client": client, "tokens": tokens, "clock": clock, "path": registry_target,
               "alice": alice}  # fmt: skip


def attest(fleet, device_id: str, good: bool) -> None:
    headers = {"Authorization": f"Bearer {fleet['tokens']['alice_app']}"}
    client = fleet["client"]
    nonce = client.post("/v1/challenges", json={"device_id": device_id}, headers=headers)
    body = answer_of(device_id, nonce.json()["nonce"], None if good else b"x" * 32)
    assert client.post("/v1/attestations", json=body, headers=headers).json()["ok"] is good


def get(fleet, path: str, token: str | None = None):
    """GET *path* with *token* (a name of fleet["tokens"]) as the page's cookie, or none."""
    client = fleet["client"]
    client.cookies.clear()
    if token:
        client.cookies.set(PAGE_COOKIE, fleet["tokens"].get(token, token))
    return client.get(path)


def row(page: str, device_id: str) -> str:
    start = page.index(f'<tr data-device="{device_id}">')
    return page[start : page.index("</tr>", start)]


def test_sign_in_and_refusals(fleet):
    client = fleet["client"]
    form = get(fleet, "/")
    assert form.status_code == 200 and '<form method="post" action="/login">' in form.text
    assert "a1" not in form.text
    bad = client.post("/login", data={"token": "ropuf_00000000_nope"}, follow_redirects=False)
    assert bad.status_code == 401 and "unknown or revoked token" in bad.text
    app = client.post("/login", data={"token": fleet["tokens"]["alice_app"]})
    assert app.status_code == 401 and "not an owner token" in app.text
    good = client.post("/login", data={"token": fleet["tokens"]["alice"]}, follow_redirects=False)
    assert good.status_code == 303 and good.headers["location"] == "/"
    cookie = good.headers["set-cookie"]
    assert cookie.startswith(f"{PAGE_COOKIE}=") and "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    page = get(fleet, "/", "alice")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert 'data-device="a1"' in page.text and 'data-device="a2"' in page.text
    assert 'data-device="b1"' not in page.text  # bob's device
    # The header works as the cookie does; an application token is no owner.
    client.cookies.clear()
    header = client.get("/", headers={"Authorization": f"Bearer {fleet['tokens']['bob']}"})
    assert 'data-device="b1"' in header.text and 'data-device="a1"' not in header.text
    refused = get(fleet, "/", "alice_app")
    assert refused.status_code == 403 and "needs an owner token" in refused.text
    stale = get(fleet, "/", "ropuf_00000000_gone")
    assert stale.status_code == 401 and f'{PAGE_COOKIE}=""' in stale.headers["set-cookie"]
    out = client.post("/logout", follow_redirects=False)
    assert out.status_code == 303 and f'{PAGE_COOKIE}=""' in out.headers["set-cookie"]


def test_last_verdict_and_failures_of_the_last_day(fleet):
    client, clock = fleet["client"], fleet["clock"]
    page = get(fleet, "/", "alice").text
    assert "never" in row(page, "a1") and '<td class="failures">0</td>' in row(page, "a1")
    attest(fleet, "a1", good=False)
    clock.now += FAILURE_WINDOW - 10
    attest(fleet, "a1", good=False)
    attest(fleet, "a2", good=True)
    page = get(fleet, "/", "alice").text
    a1, a2 = row(page, "a1"), row(page, "a2")
    assert "FAILED</span>: MAC mismatch: not the enrolled device" in a1
    assert '<span class="fail">2</span>' in a1
    assert "ATTESTED" in a2 and '<td class="failures">0</td>' in a2
    clock.now += 20  # the first failure is now older than a day
    assert '<span class="fail">1</span>' in row(get(fleet, "/", "alice").text, "a1")
    # a revoked device says so
    owner = {"Authorization": "Bearer " + fleet["tokens"]["alice"]}
    assert client.post("/v1/devices/a2/revoke", headers=owner).status_code == 200
    assert "<td>revoked</td>" in row(get(fleet, "/", "alice").text, "a2")


def test_characterisation_plots(fleet):
    assert "No fleet characterisation stored" in get(fleet, "/", "alice").text
    assert get(fleet, "/fleet/uniqueness.png", "alice").status_code == 404
    with Registry(fleet["path"], MASTER) as reg:
        reg.add_characterisation(hexkey(fleet["alice"]), 1000.0, SUMMARY)
        assert reg.characterisation(hexkey(fleet["alice"])) == (1000.0, SUMMARY)
    page = get(fleet, "/", "alice").text
    for name in ("uniqueness", "corners"):
        assert f'src="/fleet/{name}.png"' in page
        png = get(fleet, f"/fleet/{name}.png", "alice")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        image = matplotlib.image.imread(io.BytesIO(png.content), format="png")
        assert image.shape[0] > 200 and image.shape[1] > 400
        assert get(fleet, f"/fleet/{name}.png", "bob").status_code == 404  # not bob's
        assert get(fleet, f"/fleet/{name}.png").status_code == 401
    assert get(fleet, "/fleet/secret.png", "alice").status_code == 404


def test_pages_of_devices(fleet, monkeypatch):
    from ropuf.host.service import app

    monkeypatch.setattr(app, "PAGE_DEVICES", 1)
    first = get(fleet, "/", "alice").text
    assert 'data-device="a1"' in first and 'data-device="a2"' not in first
    assert '<a href="/?after=a1">next page</a>' in first
    second = get(fleet, "/?after=a1", "alice").text
    assert 'data-device="a2"' in second and "next page" not in second


def test_a_malformed_characterisation_is_refused():
    with pytest.raises(RegistryError, match="malformed"):
        check_summary({**SUMMARY, "inter_hd": []})
    with pytest.raises(RegistryError, match="malformed"):
        check_summary({**SUMMARY, "corners": [{"label": "x", "intra_hd": [2.0]}]})
    assert check_summary(SUMMARY) is SUMMARY
