"""The issuer service: archive store, enterprise API, issuing, revocation, status lists."""
