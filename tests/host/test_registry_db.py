"""The registry's database layer: what its messages say of a PostgreSQL URL."""

from ropuf.host.registry_db import redacted, safe_label

URL = "postgresql://fleet:s%3Ecret@db.example:5432/ropuf"


def test_a_label_hides_the_password():
    assert safe_label(URL) == "postgresql://fleet:***@db.example:5432/ropuf"
    assert safe_label("fleet.db") == "fleet.db"


def test_a_driver_message_loses_the_password_raw_and_decoded():
    message = 'invalid percent-encoded token: "s%3Ecret"; password "s>cret" refused'
    cleaned = redacted(message, URL)
    assert "s%3Ecret" not in cleaned and "s>cret" not in cleaned
    assert cleaned.count("***") == 2
    assert redacted("no such file", "fleet.db") == "no such file"
