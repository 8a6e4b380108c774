"""Key policy documents (``envelope/keys/policy.py``) as CreateKey and PutKeyPolicy take them.

Input: the document's bytes (those that are not UTF-8 become lone surrogates, as a Python caller
could pass). Properties: ``check_policy`` returns the document or raises
``MalformedPolicyDocumentException`` / ``LimitExceededException``; LocalKeyService's CreateKey
with it does the same (or any other ``KeyServiceError``), and so does PutKeyPolicy on one key
with its lockout safety check (``keys/local/access.py``); a policy it stores is what
GetKeyPolicy returns. Evaluation for a request is ``policy_evaluation``'s target.
"""

from __future__ import annotations

from envelope.errors import (
    KeyServiceError,
    LimitExceededException,
    MalformedPolicyDocumentException,
)
from envelope.keys.local.access import _LOCKOUT as LOCKOUT
from envelope.keys.policy import check_policy
from tests.fuzz import fixtures
from tests.fuzz.harness import Target, expect

_created = 0
_target_key: list[str] = []


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
    kms = fixtures.kms()
    if not _target_key:
        _target_key.append(kms.create_key().key_metadata.key_id)
    try:
        kms.put_key_policy(key_id=_target_key[0], policy=text)
    except MalformedPolicyDocumentException as e:  # a valid document that would lock us out
        expect(LOCKOUT in str(e), f"check_policy accepted what PutKeyPolicy refused: {e}")
    else:
        stored = kms.get_key_policy(key_id=_target_key[0]).policy
        expect(stored == text, "GetKeyPolicy did not return the policy PutKeyPolicy stored")
        kms.put_key_policy(key_id=_target_key[0], policy=text + " ")  # the same rules allow it
    if _created >= 200:  # keep the keystore small: a few hundred keys are plenty
        return
    kms.create_key(policy=text, bypass_policy_lockout_safety_check=True)  # throwaway keys
    _created += 1


TARGET = Target(
    name="key_policy",
    doc=__doc__ or "",
    run=run,
    allowed=(KeyServiceError,),
    setup=lambda: (fixtures.kms(), None)[1],
)
