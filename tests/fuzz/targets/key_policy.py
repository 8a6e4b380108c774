"""Key policy documents (``envelope/keys/policy.py``) as CreateKey and PutKeyPolicy take them.

Input: the document's bytes (those that are not UTF-8 become lone surrogates, as a Python caller
could pass). Properties: ``check_policy`` returns the document or raises
``MalformedPolicyDocumentException`` / ``LimitExceededException``; LocalKeyService's CreateKey
with it does the same (or any other ``KeyServiceError``). When the policy evaluator lands
(``get_key_policy``, authorization), this target grows to cover it.
"""

from __future__ import annotations

from envelope.errors import (
    KeyServiceError,
    LimitExceededException,
    MalformedPolicyDocumentException,
)
from envelope.keys.policy import check_policy
from tests.fuzz import fixtures
from tests.fuzz.harness import Target, expect

_created = 0


def run(data: bytes) -> None:
    global _created
    text = data.decode("utf-8", "surrogateescape")
    try:
        accepted = check_policy(text)
    except (MalformedPolicyDocumentException, LimitExceededException):
        accepted = None
    if accepted is None:
        return
    expect(accepted == text, "check_policy changed the document")
    if _created >= 200:  # keep the keystore small: a few hundred keys are plenty
        return
    kms = fixtures.kms()
    kms.create_key(policy=text)
    _created += 1


TARGET = Target(
    name="key_policy",
    doc=__doc__ or "",
    run=run,
    allowed=(KeyServiceError,),
    setup=lambda: (fixtures.kms(), None)[1],
)
