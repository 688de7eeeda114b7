"""The fleet page of the service (``GET /``): plain server-rendered HTML, no script, no CDN.

An owner signs in with an owner token (a form that sets an HttpOnly, SameSite=Strict cookie,
or an ``Authorization: Bearer`` header) and sees the owner's devices: status, last
attestation and its verdict, failures in the last day; and, when the owner has stored a fleet
characterisation in the registry (:meth:`~ropuf.host.registry.Registry.add_characterisation`,
``ropuf fleet --registry``), its plots as PNG (:mod:`ropuf.host.plots`).

A characterisation summary is the JSON object that :func:`characterisation_summary` makes::

    {"title": str, "correctable": float, "inter_hd": [float, ...],
     "corners": [{"label": str, "intra_hd": [float per die], "success": float,
                  "key_bit_error": float}, ...]}
"""

import html
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from ropuf.host.registry import RegistryError

__all__ = [
    "PLOTS",
    "FleetRow",
    "characterisation_summary",
    "check_summary",
    "fleet_page",
    "login_page",
    "render_plot",
]

#: The plots of a characterisation: name -> title, served at ``/fleet/{name}.png``.
PLOTS = {
    "uniqueness": "inter-chip HD (uniqueness) and intra-chip HD per corner",
    "corners": "reliability per corner: attested share and key-bit error",
}

_STYLE = (
    "body{font-family:sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.3em .6em;"
    "text-align:left}th{background:#eee}.ok{color:#070}.fail{color:#b00;font-weight:bold}"
    "img{max-width:100%;border:1px solid #ddd;margin:.5em 0}code{font-size:90%}"
)


@dataclass(frozen=True)
class FleetRow:
    """One device's line on the page."""

    device_id: str
    owner: str
    status: str
    last_at: float | None
    last_ok: bool | None
    last_reason: str | None
    failures_last_day: int


def characterisation_summary(
    inter_hd: Iterable[float],
    corners: Sequence[tuple[str, Iterable[float], float, float]],
    correctable: float,
    title: str = "",
) -> dict:
    """The JSON summary of a fleet characterisation: every pairwise inter-chip fractional HD;
    per corner its label, the per-die mean intra-chip HD, the share attested and the key-bit
    error rate; the code's correctable fraction ``t / n``."""
    return check_summary(
        {
            "title": title,
            "correctable": float(correctable),
            "inter_hd": [float(v) for v in inter_hd],
            "corners": [
                {
                    "label": str(label),
                    "intra_hd": [float(v) for v in intra],
                    "success": float(success),
                    "key_bit_error": float(error),
                }
                for label, intra, success, error in corners
            ],
        }
    )


def check_summary(summary: object) -> dict:
    """*summary* if it has the form of :func:`characterisation_summary`, else RegistryError."""

    def numbers(values: object) -> bool:
        return isinstance(values, list) and all(
            isinstance(v, int | float) and 0.0 <= v <= 1.0 for v in values
        )

    ok = (
        isinstance(summary, dict)
        and isinstance(summary.get("title"), str)
        and numbers([summary.get("correctable")])
        and numbers(summary.get("inter_hd"))
        and bool(summary["inter_hd"])
        and isinstance(summary.get("corners"), list)
        and all(
            isinstance(c, dict)
            and isinstance(c.get("label"), str)
            and numbers(c.get("intra_hd"))
            and bool(c["intra_hd"])
            and numbers([c.get("success"), c.get("key_bit_error")])
            for c in summary["corners"]
        )
    )
    if not ok:
        raise RegistryError(
            "a stored characterisation is malformed: it needs title, correctable, a non-empty "
            "inter_hd and corners of label, intra_hd, success, key_bit_error (fractions 0..1); "
            "store a new one with 'ropuf fleet --registry'"
        )
    return summary


def render_plot(name: str, summary: dict) -> bytes:
    """The PNG of plot *name* (a key of :data:`PLOTS`) of a characterisation *summary*."""
    # Imported on use: matplotlib's start-up is paid only by a page with plots.
    from ropuf.host.plots import plot_corner_success, plot_fleet_hd

    corners = summary["corners"]
    with tempfile.TemporaryDirectory(prefix="ropuf-plot-") as folder:
        path = Path(folder) / f"{name}.png"
        if name == "uniqueness":
            plot_fleet_hd(
                summary["inter_hd"],
                {c["label"]: c["intra_hd"] for c in corners},
                path,
                title=summary["title"],
            )
        elif name == "corners":
            plot_corner_success(
                [c["label"] for c in corners],
                [c["success"] for c in corners],
                [c["key_bit_error"] for c in corners],
                summary["correctable"],
                path,
                title=summary["title"],
            )
        else:
            raise KeyError(name)
        return path.read_bytes()


def _time(at: float | None) -> str:
    if at is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def login_page(message: str = "") -> str:
    """The sign-in form: an owner token, posted to ``/login``."""
    note = f'<p class="fail" id="message">{html.escape(message)}</p>' if message else ""
    return _document(
        "ropuf fleet: sign in",
        "<h1>ropuf fleet</h1>"
        f"{note}<p>Sign in with an owner token (<code>ropuf registry token create --kind "
        "owner</code>).</p>"
        '<form method="post" action="/login">'
        '<input type="password" name="token" id="token" size="60" autocomplete="off" '
        'placeholder="ropuf_..." required> <button type="submit" id="sign-in">Sign in</button>'
        "</form>",
    )


def fleet_page(
    owner: str,
    rows: Sequence[FleetRow],
    next_after: str | None,
    characterised_at: float | None,
) -> str:
    """The owner's fleet: one table row per device, the next page's link, the plots."""
    lines = []
    for row in rows:
        if row.last_ok is None:
            verdict = "-"
        elif row.last_ok:
            verdict = '<span class="ok">ATTESTED</span>'
        else:
            verdict = f'<span class="fail">FAILED</span>: {html.escape(row.last_reason or "")}'
        failures = (
            f'<span class="fail">{row.failures_last_day}</span>' * bool(row.failures_last_day)
            or "0"
        )
        lines.append(
            f'<tr data-device="{html.escape(row.device_id)}">'
            f"<td>{html.escape(row.device_id)}</td>"
            f'<td><code title="{html.escape(row.owner)}">{html.escape(row.owner[:16])}...</code>'
            f"</td><td>{html.escape(row.status)}</td><td>{_time(row.last_at)}</td>"
            f'<td class="verdict">{verdict}</td><td class="failures">{failures}</td></tr>'
        )
    table = (
        '<table id="devices"><tr><th>device</th><th>owner</th><th>status</th>'
        "<th>last attestation</th><th>result</th><th>failures, last 24 h</th></tr>"
        + "".join(lines)
        + "</table>"
        if rows
        else "<p>No devices enrolled under this owner.</p>"
    )
    more = ""
    if next_after:
        more = f'<p><a href="/?after={html.escape(quote(next_after))}">next page</a></p>'
    if characterised_at is None:
        plots = (
            "<p>No fleet characterisation stored: <code>ropuf fleet --registry ... "
            "--owner-key ...</code> stores one.</p>"
        )
    else:
        plots = f"<p>Characterised {_time(characterised_at)}.</p>" + "".join(
            f'<h3>{html.escape(title)}</h3><img id="plot-{name}" src="/fleet/{name}.png" '
            f'alt="{html.escape(title)}">'
            for name, title in PLOTS.items()
        )
    return _document(
        "ropuf fleet",
        f"<h1>ropuf fleet</h1><p>Owner <code>{html.escape(owner)}</code>; "
        f"{_time(time.time())}.</p>"
        '<form method="post" action="/logout"><button type="submit">Sign out</button></form>'
        f"<h2>Devices</h2>{table}{more}<h2>Fleet plots</h2>{plots}",
    )
