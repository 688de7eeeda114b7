"""The verifier as a service: an HTTP API (FastAPI) over the registry for owners, applications
and gateways.

- :mod:`.tokens`: access tokens (random, shown once, stored as SHA-256) and their scopes.
- :mod:`.models`: the JSON bodies of requests and answers.
- :mod:`.signatures`: signature attestation: the owner CAs the service trusts (from its
  configuration) and the verdict on a device's signature.
- :mod:`.app`: the FastAPI application (:func:`create_app`), run by ``ropuf serve``.
- :mod:`.gateway`: the client side, ``ropuf attest --server``: a challenge from the service,
  the local device's answer, the verdict.

The registry (:class:`ropuf.host.registry.Registry`) is the one storage layer; the verifier is
:class:`ropuf.host.attestation.Verifier`. See docs/service.md.
"""
