"""The service commands of the ``ropuf`` command line: ``serve`` (the verifier as an HTTP
service) and ``registry token`` (its access tokens). Thin: parse, call
:mod:`ropuf.host.service`, print."""

import argparse
import time

from ropuf.spec.errors import InputError

__all__ = ["add_serve_command", "add_token_commands"]


def _trusted_cas(paths: list[str]) -> list:
    """The owner CA certificates of ``serve --owner-ca-cert``, each checked as an owner CA."""
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.host.identity import CertificateVerifier, IdentityError, read_certificate_file

    trusted = []
    for path in paths:
        try:
            ca = read_certificate_file(path)
            CertificateVerifier(ca)  # the owner CA profile: a CA that signs certificates
        except IdentityError as exc:
            raise InputError(f"--owner-ca-cert {path}: {exc}") from None
        trusted.append(ca)
    return trusted


def _cmd_serve(args: argparse.Namespace) -> dict:
    # Imported on use, not at the top: start-up time of the command line.
    import uvicorn

    from ropuf.host.identity import fingerprint
    from ropuf.host.registry import Registry, load_master_key
    from ropuf.host.service.app import create_app

    key = load_master_key(args.master_key)
    trusted = _trusted_cas(args.owner_ca_cert)
    with Registry(args.registry, key) as registry:  # refuses a bad file or key before serving
        count = len(registry.devices())
        label = str(registry.path)  # a PostgreSQL URL without its password
    print(
        f"ropuf serve: {label} ({count} device(s)) on http://{args.host}:{args.port} "
        f"(API at /v1, schema at /openapi.json; Ctrl-C stops)",
        flush=True,
    )
    for ca in trusted:
        print(
            f"  trusts owner CA {ca.subject.rfc4514_string()} "
            f"(SHA-256 {fingerprint(ca).hex()[:16]}...) for signature attestation",
            flush=True,
        )
    app = create_app(args.registry, key, nonce_lifetime=args.nonce_lifetime, trusted_cas=trusted)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return {}


def _cmd_token_create(args: argparse.Namespace) -> dict:
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.host.owner_key import load_owner_key
    from ropuf.host.service.tokens import create_token

    from .keys import open_registry

    owner = load_owner_key(args.owner_key).public_key().public_bytes_raw().hex()
    with open_registry(args) as registry:
        token_id, token = create_token(registry, owner, args.kind, args.label)
    if not args.json:
        print(f"{args.kind} token {token_id} for owner {owner[:16]}... (shown once; keep it):")
        print(token)
    return {"token_id": token_id, "kind": args.kind, "owner": owner, "token": token}


def _cmd_token_list(args: argparse.Namespace) -> dict:
    from .keys import open_registry

    with open_registry(args) as registry:
        label = str(registry.path)  # a PostgreSQL URL without its password
        tokens = [
            {
                "token_id": stored.token_id,
                "owner": stored.owner,
                "scopes": list(stored.scopes),
                "label": stored.label,
                "created_at": stored.created_at,
                "revoked": stored.revoked_at is not None,
            }
            for stored in registry.tokens()
        ]
    if not args.json:
        print(f"{label}: {len(tokens)} token(s) (the tokens themselves are not stored)")
        for token in tokens:
            created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(token["created_at"]))
            state = "revoked" if token["revoked"] else "active"
            print(
                f"  {token['token_id']}  {state:<7}  {' '.join(token['scopes']):<14}  owner "
                f"{token['owner'][:16]}  created {created}  {token['label']}"
            )
    return {"tokens": tokens}


def _cmd_token_revoke(args: argparse.Namespace) -> dict:
    from .keys import open_registry

    with open_registry(args) as registry:
        registry.revoke_token(args.token_id, time.time())
    if not args.json:
        print(f"revoked token {args.token_id}")
    return {"revoked": args.token_id}


def add_serve_command(commands, registry_options) -> None:
    """``ropuf serve``, with the registry options of *registry_options*."""
    serve = commands.add_parser(
        "serve",
        help="serve the registry's verifier as an HTTP API (challenges, attestations, owners)",
        description="Run the verifier service on uvicorn: applications and gateways get "
        "challenges and post answers, owners manage their devices; every request needs a "
        "token of 'ropuf registry token create'. See docs/service.md.",
    )
    registry_options(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    serve.add_argument(
        "--nonce-lifetime",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="seconds a challenge stays valid (default 300)",
    )
    serve.add_argument(
        "--owner-ca-cert",
        action="append",
        default=[],
        metavar="FILE",
        help="an owner CA certificate (PEM or DER) whose devices may attest by signature; "
        "repeatable. Only these are trusted, never the registry's own copies (default: none, "
        "MACs only)",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="uvicorn's log level (default info)",
    )
    serve.set_defaults(run=_cmd_serve)


def add_token_commands(registry_commands, registry_options) -> None:
    """``ropuf registry token create|list|revoke``."""
    token = registry_commands.add_parser(
        "token", help="the service's access tokens: create (shown once), list, revoke"
    ).add_subparsers(dest="token_command", required=True, metavar="TOKEN_COMMAND")
    create = token.add_parser(
        "create",
        help="a new token for an owner, printed once",
        description="Make a random token for the owner of --owner-key and store only its "
        "hash. 'owner' tokens may manage and attest the owner's devices, 'application' tokens "
        "(applications and gateways) may only attest them.",
    )
    create.add_argument(
        "--owner-key",
        help="the owner's Ed25519 key file (default: $ROPUF_OWNER_KEY); the token reaches the "
        "devices of its public key",
    )
    create.add_argument(
        "--kind", choices=("owner", "application"), default="application",
        help="owner (scopes manage, attest) or application (attest; the default)",
    )  # fmt: skip
    create.add_argument("--label", default="", help="a note on what the token is for")
    registry_options(create)
    create.set_defaults(run=_cmd_token_create)
    listing = token.add_parser("list", help="the stored tokens (ids, owners, scopes)")
    registry_options(listing)
    listing.set_defaults(run=_cmd_token_list)
    revoke = token.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id", help="the token's id (from 'token list' or 'token create')")
    registry_options(revoke)
    revoke.set_defaults(run=_cmd_token_revoke)
