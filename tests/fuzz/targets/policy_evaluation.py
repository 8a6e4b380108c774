"""Key policy evaluation (``envelope/keys/policy.py``, ``conditions.py``, ``context.py``) and grant
constraints (``envelope/keys/grants.py``) for one request.

Input: six length-prefixed fields (``harness.split_fields``): a policy document, the caller's
principal ARN, the action (a KMS action name in any case, or bytes choosing one), the request's
encryption context as JSON, its source IP, and a grant's constraints as JSON (CreateGrant's
``Constraints``). Properties: a policy that ``parse_policy`` accepts is evaluated for the request
built by ``request_context`` without any exception; the memoised decision equals a fresh one;
adding a Deny-everything statement turns every decision into an explicit deny, adding an
Allow-everything statement allows whatever was not explicitly denied; ``denied_message`` never
fails. Constraints are refused with ``ValidationException`` or are checked against the context
(``context_meets``, ``grant_allows``) without an exception, and a grant may always create a
child grant with its own operations and constraints.
"""

from __future__ import annotations

import json

from envelope.errors import (
    LimitExceededException,
    MalformedPolicyDocumentException,
    ValidationException,
)
from envelope.keys import grants
from envelope.keys.context import GrantFacts, request_context
from envelope.keys.policy import (
    KMS_ACTIONS,
    Decision,
    Policy,
    Request,
    _evaluate,
    denied_message,
    evaluate,
    parse_policy,
)
from tests.fuzz import fixtures
from tests.fuzz.harness import Finding, Target, expect, split_fields

ACTIONS = sorted(KMS_ACTIONS)
RESOURCE = fixtures.KEY_ARN
_EVERYONE = '"Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"'
DENY_ALL = parse_policy(f'{{"Statement": {{"Effect": "Deny", {_EVERYONE}}}}}')
ALLOW_ALL = parse_policy(f'{{"Statement": {{"Effect": "Allow", {_EVERYONE}}}}}')


def _text(field: bytes) -> str:
    return field.decode("utf-8", "surrogateescape")


def _json(field: bytes) -> object:
    try:
        return json.loads(field)
    except (ValueError, RecursionError):
        return None


def _string_map(value: object) -> dict[str, str] | None:
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return value
    return None


def _action(field: bytes) -> str:
    # Requests only ever carry KMS actions (any case): a named one, else one chosen by a byte.
    text = _text(field)
    if text[:4].lower() == "kms:" and text[4:].lower() in KMS_ACTIONS:
        return text
    return "kms:" + ACTIONS[sum(field) % len(ACTIONS)]


def _check_evaluation(policy: Policy, request: Request) -> None:
    found = evaluate(policy, request)
    expect(found == evaluate(policy, request), "evaluate is not deterministic")
    expect(found == _evaluate(policy, request), "the remembered decision differs from a new one")
    message = denied_message(request, found.decision, policy_type="resource-based")
    expect(request.action in message, "the denial message does not name the action")
    denied = evaluate(Policy(policy.statements + DENY_ALL.statements), request).decision
    expect(denied is Decision.EXPLICIT_DENY, "a Deny of everything did not deny")
    opened = evaluate(Policy(policy.statements + ALLOW_ALL.statements), request).decision
    if found.decision is Decision.EXPLICIT_DENY:
        expect(opened is Decision.EXPLICIT_DENY, "an Allow overrode an explicit Deny")
    else:
        expect(opened is Decision.ALLOWED, "an Allow of everything did not allow")


def _check_constraints(raw: object, context: dict[str, str]) -> None:
    try:
        constraints = grants.check_constraints(raw, symmetric=True)
    except ValidationException:
        return
    meets = grants.context_meets(constraints, context)
    expect(isinstance(meets, bool), "context_meets gave a non-bool")
    operations = ("Decrypt", "CreateGrant")
    allows = grants.grant_allows(operations, constraints, "Decrypt", context=context)
    expect(allows == meets, "a grant's Decrypt disagrees with its constraints")
    expect(
        grants.grant_allows(operations, constraints, "CreateGrant", child_operations=operations,
                            child_constraints=constraints),
        "a grant may not create a child grant just like itself",
    )  # fmt: skip
    grants.constraint_type(constraints)
    grants.constraint_context(constraints)


def run(data: bytes) -> None:
    policy_text, principal, action, context_json, source_ip, constraints = split_fields(data, 6)
    policy = parse_policy(_text(policy_text))  # the allowed refusals end the input here
    context = _string_map(_json(context_json))
    raw_constraints = _json(constraints)
    try:
        facts = request_context(
            caller=_text(principal),
            region=fixtures.REGION,
            source_ip=_text(source_ip) or None,
            secure_transport=bool(source_ip[:1] == b"s"),
            encryption_context=context,
            resource_aliases=("alias/fuzz",),
            resource_tags={"team": "security"},
            key_spec="SYMMETRIC_DEFAULT",
            key_usage="ENCRYPT_DECRYPT",
            grant=GrantFacts(("Decrypt",), grantee_principal=_text(principal)),
        )
        _check_evaluation(policy, Request(_text(principal), _action(action), RESOURCE, facts))
        _check_constraints(raw_constraints, context or {})
    except Finding:
        raise
    except Exception as e:  # after parsing, nothing may fail: not even an EnvelopeError
        raise Finding(f"policy_evaluation: {type(e).__name__} after parsing: {e!r}"[:2000]) from e


TARGET = Target(
    name="policy_evaluation",
    doc=__doc__ or "",
    run=run,
    allowed=(MalformedPolicyDocumentException, LimitExceededException),
)
