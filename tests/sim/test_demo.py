"""The demo's key-path part with its signature part (``ropuf demo`` 3/5 and 4/5) on simulated
ECP5 boards: the first die enrolled with an owner CA, attested by HMAC and by signature from a
secret-free certificate export; its signature with another nonce, the second die's signature
(its own key) for a nonce issued to the first, and an impostor die with the first die's record,
each refused with the reason. Outcomes only; the figures are the demo's to print.

35 s on 2 shared cores, 75 s when they are loaded (three board starts, two enrolments, IDENTITY
and SIGN four times, several RECONSTRUCTs), so in the slow tier; the default tier attests a
Verilator board by signature from an export in cli/test_e2e.py."""

import pytest

from ropuf.sim.demo import KEY_PATH_DIE, key_path

pytestmark = [pytest.mark.sim, pytest.mark.slow]


@pytest.fixture(scope="module")
def result():
    """Two ECP5 dies (3 reads) and no iCEBreaker: the smallest key path with all of part 3
    (the second die signs for the first)."""
    return key_path(board_dies=2, reads=3, icebreaker_dies=0)


def test_the_die_is_attested_by_hmac_and_by_signature(result):
    die, other = result.board_dies
    assert (die.device_id, die.board) == (f"die-{KEY_PATH_DIE}", "ulx3s")
    assert other.device_id == f"die-{KEY_PATH_DIE + 1}"
    for each in result.board_dies:
        assert each.attested and each.reason == "ok" and each.replay_refused
    signed = result.signature
    assert signed is not None and signed.device_id == die.device_id
    assert signed.attested and signed.reason == "ok"
    assert signed.owner_ca == "ropuf demo owner" and signed.certificate_serial > 0
    assert signed.sign_s > 0 and signed.verify_ms > 0
    assert result.ok and signed.ok


def test_the_verifier_loads_only_public_files(result):
    signed = result.signature
    stem = signed.device_id
    names = set(signed.export_files)
    assert {f"{stem}.pem", f"{stem}.helper", "revoked.json"} < names
    (ca_file,) = names - {f"{stem}.pem", f"{stem}.helper", "revoked.json"}
    assert ca_file.startswith("owner-ca-") and ca_file.endswith(".pem")
    assert signed.export_secret_free


def test_a_moved_signature_and_an_impostor_are_refused_with_the_reason(result):
    signed = result.signature
    assert signed.other_nonce_refused
    assert signed.other_nonce_reason.startswith("bad-signature")
    impostor = KEY_PATH_DIE + 2
    assert (result.impostor_die_seed, result.impostor_record) == (impostor, signed.device_id)
    assert not result.impostor_attested and "KEY_CHECK_FAILED" in result.impostor_reason
    assert signed.impostor_die_seed == impostor
    assert not signed.impostor_attested and "KEY_CHECK_FAILED" in signed.impostor_reason


def test_another_enrolled_die_signing_for_this_one_is_refused(result):
    """Die 3, enrolled and holding its own key, signs a nonce issued for die 2."""
    signed = result.signature
    assert signed.foreign_device_id == f"die-{KEY_PATH_DIE + 1}"
    assert signed.foreign_refused and signed.foreign_reason.startswith("bad-signature")
