"""The issuer service: archives, the enterprise API, issuing, revocation, status lists and the
public endpoints verifiers use. ``create_app`` is the one entry point."""

from anxinma.issuer.app import Runtime, build_runtime, create_app
from anxinma.issuer.config import IssuerConfig

__all__ = ["IssuerConfig", "Runtime", "build_runtime", "create_app"]
