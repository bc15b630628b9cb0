"""The holder proof rules: what a dynamic code's proof does to the credential's own verdict
(docs/verifier.md, "The holder proof"). One function, :func:`judge_holder_proof`, that the
offline verifier calls; verify.js's ``holderRule`` is the same rule, and one case table
(tests/vectors/holder-proof-rules.json) drives both test suites.

The rule, in order:

1. A credential verdict other than ``valid``, ``attention`` or ``status_unknown`` stands:
   a revoked, suspended, expired, not-yet-valid or forged credential never reads as anything
   better (or different) because of its proof, and a proof is only checked under a holder key
   whose credential signature verified.
2. A credential without a holder key (a card credential) keeps its verdict.
3. A holder-bound credential with no proof (a screenshot of the credential, its URL, its NFC
   form) is ``holder_proof_missing``.
4. A proof that does not verify under the holder key is ``bad_holder_proof``.
5. A proof older than :data:`PROOF_MAX_AGE` seconds, or dated more than
   :data:`PROOF_MAX_AHEAD` seconds ahead of the verifier's clock, is ``holder_proof_expired``.
6. Otherwise the credential's verdict stands.
"""

from __future__ import annotations

from enum import StrEnum

from anxinma.messages import Message
from anxinma.verifier.reasons import REASONS
from anxinma.verifier.result import Status

#: The phone shows a new code every 30 s; a code is fresh for 60 s after it was made (twice
#: that), and the clocks of phone and verifier may differ by up to 30 s either way.
PROOF_REFRESH = 30
PROOF_WINDOW = 60
PROOF_CLOCK_TOLERANCE = 30
#: Accepted when ``-PROOF_MAX_AHEAD <= now - time <= PROOF_MAX_AGE`` (seconds).
PROOF_MAX_AGE = PROOF_WINDOW + PROOF_CLOCK_TOLERANCE
PROOF_MAX_AHEAD = PROOF_CLOCK_TOLERANCE

#: The verdicts of this rule (none of them genuine: the phone was not proven present).
HOLDER_STATUSES = frozenset(
    {Status.HOLDER_PROOF_MISSING, Status.HOLDER_PROOF_EXPIRED, Status.BAD_HOLDER_PROOF}
)
#: The credential verdicts a proof can still change (rule 1).
CHECKED_UNDER = frozenset({Status.VALID, Status.ATTENTION, Status.STATUS_UNKNOWN})


class Proof(StrEnum):
    """What was shown with a holder-bound credential."""

    NONE = "none"  # the bare credential
    BAD = "bad"  # a proof that does not verify under the holder key
    GOOD = "good"  # a proof that verifies (its time is judged separately)


def judge_holder_proof(
    base: Status, holder_bound: bool, proof: Proof, age: int | None
) -> tuple[Status, Message] | None:
    """The status and reason that replace the credential's verdict ``base``, or None when it
    stands. ``age`` is ``now - time`` in whole seconds (negative: the proof is dated ahead)."""
    if base not in CHECKED_UNDER or not holder_bound:
        return None
    if proof is Proof.NONE:
        return _MISSING
    if proof is Proof.BAD:
        return _BAD
    assert age is not None
    if age > PROOF_MAX_AGE:
        return Status.HOLDER_PROOF_EXPIRED, REASONS("holder_proof_expired", seconds=age, max=PROOF_MAX_AGE)
    if -age > PROOF_MAX_AHEAD:
        return Status.HOLDER_PROOF_EXPIRED, REASONS("holder_proof_future", ahead=-age, max=PROOF_MAX_AHEAD)
    return None


_MISSING = (Status.HOLDER_PROOF_MISSING, REASONS("holder_proof_missing"))
_BAD = (Status.BAD_HOLDER_PROOF, REASONS("bad_holder_proof"))
