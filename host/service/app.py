"""The verifier service: a FastAPI application over one registry (``ropuf serve``).

Applications and gateways ask for a challenge (``POST /v1/challenges``) and post the device's
answer (``POST /v1/attestations``, or many in one commit with ``/v1/attestations/batch``);
owners list, import, revoke and transfer their devices (``/v1/devices...``). Every request
carries a bearer token (:mod:`.tokens`); every refusal is an HTTP status with a JSON body
``{"error": code, "message": text}``. No answer carries a device key or the master key.

The registry is one database connection (SQLite or PostgreSQL), used from the event loop's
thread only: the endpoints are coroutines that call it directly, one request at a time per
process; several processes share one database.
"""

import json
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import Body, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from ropuf.host.attestation import DEFAULT_NONCE_LIFETIME, AttestationResult, Verifier
from ropuf.host.identity import fingerprint
from ropuf.host.registry import DuplicateDeviceError, Registry, RegistryError

from .fleet_page import PLOTS, FleetRow, check_summary, fleet_page, login_page, render_plot
from .models import (
    AttestationIn,
    AttestationOut,
    BatchIn,
    BatchOut,
    CertificateOut,
    ChallengeIn,
    ChallengeOut,
    DeviceOut,
    DevicePage,
    ErrorOut,
    ImportOut,
    LastAttestation,
    TransferIn,
)
from .signatures import Signatures
from .tokens import SCOPE_ATTEST, SCOPE_MANAGE, Principal, authenticate

__all__ = ["PAGE_COOKIE", "PRUNE_INTERVAL", "ServiceError", "create_app"]

#: Seconds between two prunings of expired challenges (done while issuing one).
PRUNE_INTERVAL = 60.0
#: The fleet page's cookie: the owner token the sign-in form took (HttpOnly, SameSite=Strict).
PAGE_COOKIE = "ropuf_token"
#: Devices on one fleet page; the "failures" window of the page, seconds.
PAGE_DEVICES = 200
FAILURE_WINDOW = 86400.0
#: Rendered plots kept per process: (owner, characterisation time) -> name -> PNG.
PLOT_CACHE = 16

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (400, 401, 403, 404, 409, 422)
}


class ServiceError(Exception):
    """A refusal: HTTP *status*, a short *code* and a *message* saying what to do."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def _error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


_bearer = HTTPBearer(auto_error=False, description="a token of 'ropuf registry token create'")


def _require(scope: str) -> Callable:
    """A dependency: the request's principal, which must hold *scope*."""

    async def principal(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None:
            raise ServiceError(
                401,
                "unauthorized",
                "no token: send 'Authorization: Bearer <token>' (an owner makes tokens with "
                "'ropuf registry token create')",
                challenge,
            )
        found = authenticate(request.app.state.registry, credentials.credentials)
        if found is None:
            raise ServiceError(401, "unauthorized", "unknown or revoked token", challenge)
        if scope not in found.scopes:
            raise ServiceError(
                403,
                "forbidden",
                f"this token's scopes are {', '.join(found.scopes)}; this needs {scope!r}: "
                "use an owner token",
            )
        return found

    return principal


Attest = Annotated[Principal, Depends(_require(SCOPE_ATTEST))]
Manage = Annotated[Principal, Depends(_require(SCOPE_MANAGE))]


def _owned(registry: Registry, principal: Principal, device_id: str) -> None:
    """Refuse (404) a device that is not enrolled or not the principal's owner's: the same
    answer for both, so a token learns nothing about other owners' devices."""
    owner = registry.device_owners([device_id]).get(device_id)
    if owner is None or owner != principal.owner:
        raise ServiceError(
            404,
            "not_found",
            f"device {device_id!r} is not enrolled under this token's owner",
        )


def _device(registry: Registry, device_id: str) -> DeviceOut:
    """The owner's view of *device_id* (its record verified; no key)."""
    try:
        record = registry.record(device_id)
    except RegistryError as exc:
        raise ServiceError(409, "registry_damaged", str(exc)) from None
    state = registry.device_state(device_id)
    last = state.last_attestation
    return DeviceOut(
        device_id=device_id,
        owner=state.owner,
        enrolled_by=record.owner_public_key.hex(),
        enrolled_at=record.enrolled_at,
        status="active" if state.revoked_at is None else "revoked",
        revoked_at=state.revoked_at,
        puf=record.puf,
        helper_bytes=len(record.helper_data),
        last_attestation=None if last is None else LastAttestation(**vars(last)),
        certificate=_certificate(registry, device_id),
    )


def _certificate(registry: Registry, device_id: str) -> CertificateOut | None:
    """The service's view of the device's certificate (:meth:`Registry.certificate`)."""
    stored = registry.certificate(device_id)
    if stored is None:
        return None
    return CertificateOut(
        serial=f"{stored.certificate.serial_number:x}",
        owner_ca=fingerprint(stored.ca).hex(),
        owner_ca_name=stored.ca.subject.rfc4514_string(),
        issued_at=stored.issued_at,
        revoked_at=stored.revoked_at,
        not_after=stored.certificate.not_valid_after_utc.isoformat(),
        pem=stored.certificate.public_bytes(serialization.Encoding.PEM).decode(),
    )


def _page_principal(request: Request) -> tuple[Principal | None, int, str]:
    """The fleet page's owner: from an ``Authorization: Bearer`` header or the sign-in cookie.
    (None, HTTP status, why) when there is none (200, ""), or it is unknown or revoked (401)
    or not an owner token (403)."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    token = token or request.cookies.get(PAGE_COOKIE, "")
    if not token:
        return None, 200, ""
    found = authenticate(request.app.state.registry, token)
    if found is None:
        return None, 401, "unknown or revoked token: sign in with a current owner token"
    if SCOPE_MANAGE not in found.scopes:
        return None, 403, "this token cannot manage devices: the fleet page needs an owner token"
    return found, 200, ""


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        text,
        status_code=status,
        headers={"Cache-Control": "no-store", "Content-Security-Policy": "default-src 'self'"},
    )


def _out(result: AttestationResult) -> AttestationOut:
    return AttestationOut(device_id=result.device_id, ok=result.ok, reason=result.reason)


def create_app(
    registry_path: str | Path,
    master_key: bytes,
    *,
    nonce_lifetime: float = DEFAULT_NONCE_LIFETIME,
    clock: Callable[[], float] = time.time,
    trusted_cas: Iterable[x509.Certificate] = (),
) -> FastAPI:
    """The service over the registry at *registry_path*, opened with *master_key* when the
    application starts (in the thread that serves it) and closed when it stops.

    Parameters
    ----------
    registry_path : path-like or str
        The registry: an SQLite file or a ``postgresql://`` URL (created or upgraded like any
        registry).
    master_key : bytes
        The verifier master key (see :func:`ropuf.host.registry.load_master_key`).
    nonce_lifetime : float
        Seconds an issued challenge stays valid.
    clock : callable
        Seconds since the epoch.
    trusted_cas : iterable of x509.Certificate
        The owner CA certificates whose devices may attest by signature (from the
        configuration, never from the registry: :mod:`.signatures`); none: MACs only.
    """
    trusted_cas = list(trusted_cas)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with Registry(registry_path, master_key) as registry:
            app.state.registry = registry
            app.state.verifier = Verifier(registry, nonce_lifetime=nonce_lifetime, clock=clock)
            app.state.signatures = Signatures(
                registry, trusted_cas, nonce_lifetime=nonce_lifetime, clock=clock
            )
            app.state.pruned_at = float("-inf")
            app.state.plots = {}
            yield

    app = FastAPI(
        title="ropuf verifier",
        version="1",
        description="Challenges and attestations of enrolled ropuf devices; owners manage "
        "their fleet. See docs/service.md.",
        lifespan=lifespan,
        responses=_ERRORS,
    )

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in exc.errors()
        )
        return _error(422, "invalid_request", f"the request is malformed: {problems}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        return _error(exc.status_code, code, f"{request.method} {request.url.path}: {exc.detail}")

    @app.get("/", include_in_schema=False)
    async def page(request: Request, after: Annotated[str, Query(max_length=128)] = ""):
        """The fleet page of the signed-in owner (the sign-in form without a token)."""
        principal, status, why = _page_principal(request)
        if principal is None:
            response = _html(login_page(why), status)
            if why:
                response.delete_cookie(PAGE_COOKIE)
            return response
        registry: Registry = request.app.state.registry
        ids = registry.owned_devices(principal.owner, after, PAGE_DEVICES + 1)
        failures = registry.failures_since(principal.owner, clock() - FAILURE_WINDOW)
        rows = []
        for device_id in ids[:PAGE_DEVICES]:
            state = registry.device_state(device_id)
            last = state.last_attestation
            rows.append(
                FleetRow(
                    device_id=device_id,
                    owner=state.owner,
                    status="active" if state.revoked_at is None else "revoked",
                    last_at=None if last is None else last.at,
                    last_ok=None if last is None else last.ok,
                    last_reason=None if last is None else last.reason,
                    failures_last_day=failures.get(device_id, 0),
                )
            )
        stored = registry.characterisation(principal.owner)
        next_after = ids[PAGE_DEVICES - 1] if len(ids) > PAGE_DEVICES else None
        at = None if stored is None else stored[0]
        return _html(fleet_page(principal.owner, rows, next_after, at))

    @app.post("/login", include_in_schema=False)
    async def login(request: Request):
        """The sign-in form's post: a valid owner token becomes the page's cookie."""
        form = parse_qs((await request.body()).decode(errors="replace"))
        token = (form.get("token") or [""])[0].strip()
        found = authenticate(request.app.state.registry, token) if token else None
        if found is None or SCOPE_MANAGE not in found.scopes:
            why = "unknown or revoked token" if found is None else "not an owner token"
            return _html(login_page(f"{why}: sign in with an owner token"), 401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            PAGE_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout() -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(PAGE_COOKIE)
        return response

    @app.get("/fleet/{name}.png", include_in_schema=False)
    async def plot(name: str, request: Request) -> Response:
        """A plot of the signed-in owner's newest characterisation (PNG)."""
        principal, status, why = _page_principal(request)
        if principal is None:
            code = "forbidden" if status == 403 else "unauthorized"
            raise ServiceError(status if why else 401, code, why or "sign in at / first")
        stored = request.app.state.registry.characterisation(principal.owner)
        if name not in PLOTS or stored is None:
            raise ServiceError(404, "not_found", f"no plot {name!r}: no characterisation stored")
        cache: dict = request.app.state.plots
        key = (principal.owner, stored[0])
        if key not in cache:
            if len(cache) >= PLOT_CACHE:
                cache.pop(next(iter(cache)))
            cache[key] = {}
        if name not in cache[key]:
            try:
                cache[key][name] = render_plot(name, check_summary(stored[1]))
            except RegistryError as exc:
                raise ServiceError(409, "registry_damaged", str(exc)) from None
        return Response(cache[key][name], media_type="image/png",
                        headers={"Cache-Control": "private, max-age=60"})  # fmt: skip

    @app.post("/v1/challenges", status_code=201, tags=["attest"])
    async def challenge(body: ChallengeIn, principal: Attest, request: Request) -> ChallengeOut:
        """A fresh nonce for one device: single use, refused after ``expires_at``."""
        state = request.app.state
        registry: Registry = state.registry
        _owned(registry, principal, body.device_id)
        now = clock()
        if now - state.pruned_at >= PRUNE_INTERVAL:
            registry.prune_challenges(now)
            state.pruned_at = now
        try:
            helper = registry.record(body.device_id).helper_data
            nonce = state.verifier.issue_nonce(body.device_id)
        except RegistryError as exc:
            raise ServiceError(409, "refused", str(exc)) from None
        lifetime = state.verifier.nonce_lifetime
        return ChallengeOut(
            device_id=body.device_id,
            nonce=nonce.hex(),
            expires_at=now + lifetime,
            lifetime=lifetime,
            helper_data=helper.hex(),
            methods=state.signatures.methods(body.device_id),
        )

    @app.post("/v1/attestations", tags=["attest"])
    async def attestation(
        body: AttestationIn, principal: Attest, request: Request
    ) -> AttestationOut:
        """The verdict on a device's answer to a challenge, a MAC or a signature (its nonce
        spent whatever it is)."""
        registry: Registry = request.app.state.registry
        _owned(registry, principal, body.device_id)
        nonce = bytes.fromhex(body.nonce)
        if body.signature is None:
            verifier: Verifier = request.app.state.verifier
            return _out(verifier.verify(body.device_id, nonce, bytes.fromhex(body.mac)))
        signatures: Signatures = request.app.state.signatures
        try:
            return _out(signatures.verify(body.device_id, nonce, bytes.fromhex(body.signature)))
        except RegistryError as exc:  # no trusted owner CA: a configuration, not a verdict
            raise ServiceError(409, "refused", str(exc)) from None

    @app.post("/v1/attestations/batch", tags=["attest"], response_model=BatchOut)
    async def attestation_batch(body: BatchIn, principal: Attest, request: Request) -> JSONResponse:
        """Verdicts on many answers (MACs, signatures or both), in order, every spent nonce
        and verdict in one commit. An answer for a device that is not the token owner's is
        refused in its place."""
        registry: Registry = request.app.state.registry
        verifier: Verifier = request.app.state.verifier
        signatures: Signatures = request.app.state.signatures
        items = body.attestations
        reason = "device not enrolled under this token's owner"
        results: list[dict | None] = [None] * len(items)
        with registry.transaction():
            owners = registry.device_owners(item.device_id for item in items)
            mine, signed = [], []
            for index, item in enumerate(items):
                if owners.get(item.device_id) != principal.owner:
                    results[index] = {"device_id": item.device_id, "ok": False, "reason": reason}
                elif item.signature is None:
                    mine.append(index)
                else:
                    signed.append(index)
            verdicts = verifier.verify_many(
                (items[i].device_id, bytes.fromhex(items[i].nonce), bytes.fromhex(items[i].mac))
                for i in mine
            )
            for index, verdict in zip(mine, verdicts, strict=True):
                results[index] = {
                    "device_id": verdict.device_id, "ok": verdict.ok, "reason": verdict.reason,
                }  # fmt: skip
            # After the MACs, in the same transaction: a nonce also answered by a MAC above
            # is a replay here.
            for index in signed:
                item = items[index]
                try:
                    verdict = signatures.verify(
                        item.device_id, bytes.fromhex(item.nonce), bytes.fromhex(item.signature)
                    )
                except RegistryError as exc:  # no trusted owner CA: the nonce stays unspent
                    verdict = AttestationResult(item.device_id, False, str(exc))
                results[index] = {
                    "device_id": verdict.device_id, "ok": verdict.ok, "reason": verdict.reason,
                }  # fmt: skip
        # The answer as JSON at once: a BatchOut of a thousand models, validated again by
        # FastAPI, took as long as the verdicts (the schema still names BatchOut).
        return JSONResponse({"results": results})

    @app.get("/v1/devices", tags=["manage"])
    async def devices(
        principal: Manage,
        request: Request,
        after: Annotated[str, Query(max_length=128, description="last id of the page before")] = "",
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> DevicePage:
        """The token owner's devices, sorted by id, a page at a time."""
        registry: Registry = request.app.state.registry
        ids = registry.owned_devices(principal.owner, after, limit + 1)
        page = [_device(registry, device_id) for device_id in ids[:limit]]
        return DevicePage(devices=page, next=ids[limit - 1] if len(ids) > limit else None)

    @app.get("/v1/devices/{device_id}", tags=["manage"])
    async def device(device_id: str, principal: Manage, request: Request) -> DeviceOut:
        """One device: owner, status, record facts and its last attestation."""
        registry: Registry = request.app.state.registry
        _owned(registry, principal, device_id)
        return _device(registry, device_id)

    @app.post("/v1/devices/import", tags=["manage"])
    async def import_devices(
        principal: Manage,
        request: Request,
        document: Annotated[
            dict, Body(description="an export of 'ropuf registry export' (keys encrypted)")
        ],
    ) -> ImportOut:
        """Add enrollment records (signed by this owner, keys under this master key); all or
        none."""
        registry: Registry = request.app.state.registry
        try:
            added = registry.import_json(json.dumps(document), owner=principal.owner)
        except DuplicateDeviceError as exc:
            raise ServiceError(409, "conflict", f"nothing imported: {exc}") from None
        except RegistryError as exc:
            raise ServiceError(400, "bad_import", f"nothing imported: {exc}") from None
        return ImportOut(imported=added)

    @app.post("/v1/devices/{device_id}/revoke", tags=["manage"])
    async def revoke(device_id: str, principal: Manage, request: Request) -> DeviceOut:
        """Revoke a device: no challenge for it, every attestation fails (not undone)."""
        registry: Registry = request.app.state.registry
        _owned(registry, principal, device_id)
        try:
            registry.revoke(device_id, clock())
        except RegistryError as exc:
            raise ServiceError(409, "conflict", str(exc)) from None
        return _device(registry, device_id)

    @app.post("/v1/devices/{device_id}/transfer", tags=["manage"])
    async def transfer(
        device_id: str, body: TransferIn, principal: Manage, request: Request
    ) -> DeviceOut:
        """Hand a device to another owner; this token's owner loses it."""
        registry: Registry = request.app.state.registry
        _owned(registry, principal, device_id)
        registry.transfer(device_id, body.owner.lower())
        return _device(registry, device_id)

    return app
