"""The fleet page in a real headless browser (Debian's chromium through its chromedriver, driven
by selenium; nothing is downloaded): two dies enrolled on the fast model device and served by a
real ``ropuf serve``; an owner signs in with the form, one die attests through the gateway, the
other's impostor fails, and the page shows both verdicts and the fleet plots.

``make test`` installs chromium when it is missing (``scripts/ensure-browser``); without it this
test skips with the command to run, and fails in CI (``CI=true``)."""

import shutil

import httpx
import pytest

from ropuf.cli.main import main
from ropuf.host.registry import Registry, load_master_key
from ropuf.spec.attestation import attestation_mac
from tests.cli.test_serve import enroll, server, token  # noqa: F401 (server: a fixture)
from tests.conftest import in_ci
from tests.service.test_fleet_page import SUMMARY

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture
def keys(tmp_path):
    """The registry on SQLite only (the page's PostgreSQL path is test_fleet_page's)."""
    master, owner = tmp_path / "master.key", tmp_path / "owner.pem"
    assert main(["registry", "new-master-key", str(master)]) == 0
    assert main(["registry", "new-owner-key", str(owner)]) == 0
    db = str(tmp_path / "fleet.db")
    return {"master": master, "owner": owner, "db": db,
            "registry": ["--registry", db, "--master-key", str(master)]}  # fmt: skip


@pytest.fixture
def browser(monkeypatch):
    """A headless chromium: no sandbox (root in CI), no background traffic."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        missing = "Debian's chromium and chromium-driver (scripts/ensure-browser installs them)"
        if in_ci():
            pytest.fail(f"{missing} are missing (CI=true: the browser test must run)")
        pytest.skip(f"needs {missing}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # selenium never looks for a driver online
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-background-networking",
                 "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1200,900"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def cell(driver, device_id: str, name: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'tr[data-device="{device_id}"] td.{name}').text


def test_fleet_page_in_a_browser(keys, server, browser, capsys):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    enroll(keys, 7, "die-7")
    enroll(keys, 8, "die-8")
    owner_token = token(keys, "owner", capsys)["token"]
    app_token = token(keys, "application", capsys)["token"]
    browser.get(server + "/")
    assert browser.title == "ropuf fleet: sign in"
    browser.find_element(By.ID, "token").send_keys("ropuf_00000000_wrong")
    browser.find_element(By.ID, "sign-in").click()  # the form's post is awaited, not assumed
    message = WebDriverWait(browser, 20).until(
        expected_conditions.presence_of_element_located((By.ID, "message"))
    )
    assert "unknown or revoked token" in message.text
    browser.find_element(By.ID, "token").send_keys(owner_token)
    browser.find_element(By.ID, "sign-in").click()
    WebDriverWait(browser, 20).until(expected_conditions.title_is("ropuf fleet"))
    assert cell(browser, "die-7", "verdict") == "-" and cell(browser, "die-8", "failures") == "0"

    gateway = ["attest", "--server", server, "--token", app_token]
    assert main([*gateway, "--sim-die", "7", "--device-id", "die-7"]) == 0
    # Die 7 posing as die 8 through the gateway: its device cannot reconstruct die 8's key, so
    # the gateway posts no answer (the challenge expires unused) ...
    assert main([*gateway, "--sim-die", "7", "--device-id", "die-8"]) == 1
    assert "KEY_CHECK_FAILED" in capsys.readouterr().out
    browser.refresh()
    assert cell(browser, "die-8", "verdict") == "-"
    # ... and an impostor that answers anyway, with a key of its own, is refused.
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {app_token}"}) as app:
        nonce = app.post("/v1/challenges", json={"device_id": "die-8"}).json()
        forged = attestation_mac(b"\x07" * 32, bytes.fromhex(nonce["helper_data"]),
                                 bytes.fromhex(nonce["nonce"]))  # fmt: skip
        body = {"device_id": "die-8", "nonce": nonce["nonce"], "mac": forged.hex()}
        assert app.post("/v1/attestations", json=body).json()["ok"] is False
    browser.refresh()
    assert cell(browser, "die-7", "verdict") == "ATTESTED"
    assert cell(browser, "die-7", "failures") == "0"
    assert cell(browser, "die-8", "verdict") == "FAILED: MAC mismatch: not the enrolled device"
    assert cell(browser, "die-8", "failures") == "1"
    # The API says the same as the page.
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {owner_token}"}) as api:
        assert api.get("/v1/devices/die-7").json()["last_attestation"]["ok"] is True
        assert api.get("/v1/devices/die-8").json()["last_attestation"]["ok"] is False

    with Registry(keys["db"], load_master_key(keys["master"])) as registry:
        owner = registry.device_state("die-7").owner
        registry.add_characterisation(owner, 1000.0, SUMMARY)
    browser.refresh()
    for name in ("uniqueness", "corners"):
        image = browser.find_element(By.ID, f"plot-{name}")
        loaded = browser.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth", image
        )
        assert loaded > 400, f"the {name} plot did not load in the browser"
    assert owner_token not in browser.page_source  # the cookie is HttpOnly, not in the page
    assert browser.execute_script("return document.cookie") == ""
