"""The progress bar of the long commands (tqdm on stderr)."""

import io
import sys

from ropuf.cli.keys import ProgressBar


def _stderr(monkeypatch, tty: bool) -> io.StringIO:
    stream = io.StringIO()
    stream.isatty = lambda: tty
    monkeypatch.setattr(sys, "stderr", stream)
    return stream


def test_draws_on_a_terminal_and_ends_its_line(monkeypatch):
    stream = _stderr(monkeypatch, tty=True)
    progress = ProgressBar("enrolling d1", None)
    for done in range(5):
        progress(done, 4)
    text = stream.getvalue()
    assert "enrolling d1" in text
    assert "4/4" in text
    assert text.endswith("\n")
    assert ProgressBar._open is None


def test_nothing_when_not_a_terminal_or_disabled(monkeypatch):
    stream = _stderr(monkeypatch, tty=False)
    for enabled in (None, False):
        progress = ProgressBar("fleet", enabled)
        for done in range(3):
            progress(done, 2)
    assert stream.getvalue() == ""


def test_forced_on_without_a_terminal(monkeypatch):
    stream = _stderr(monkeypatch, tty=False)
    progress = ProgressBar("characterising", True)
    progress(0, 3)
    progress(1, 3)
    assert "characterising" in stream.getvalue()
    assert "0/3" in stream.getvalue()
    # An error in the middle: end_line closes the bar, so the message starts a line.
    assert ProgressBar._open is progress
    ProgressBar.end_line()
    assert stream.getvalue().endswith("\n")
    assert ProgressBar._open is None
