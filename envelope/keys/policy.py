"""Key policies: the documents KMS accepts, and their evaluation for one request (pure).

``parse_policy`` checks a document as KMS does on CreateKey and PutKeyPolicy (KMS developer
guide, ``key-policy-overview``: 32 KB, its characters, Version, Statement, and the required
Effect, Principal and Action) and refuses what this service cannot evaluate rather than letting
it silently never match. ``evaluate`` decides one request: an explicit Deny wins, otherwise an
Allow that applies allows, otherwise the request is implicitly denied (IAM,
``reference_policies_evaluation-logic``). Principals follow one rule of this project: the account
principal ``arn:aws:iam::ACCOUNT:root`` (or ``ACCOUNT``) stands for every principal of that
account, because AWS's delegation to IAM policies has no IAM here to delegate to.
"""

from __future__ import annotations

import contextlib
import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache

from envelope.errors import LimitExceededException
from envelope.keys.conditions import Condition, condition_holds, glob_match, malformed
from envelope.keys.conditions import parse_condition_block as _parse_conditions

MAX_POLICY_BYTES = 32768
"""KMS: a key policy document is at most 32 KB (key-policy-overview, "Key policy format")."""
POLICY_NAME = "default"
"""The only key policy name KMS has (GetKeyPolicy, PolicyName)."""
VERSIONS = ("2012-10-17", "2008-10-17")
ALLOW, DENY = "Allow", "Deny"
_MEMO = 4096

# The KMS permissions (the API operations, with ReEncrypt as its two permissions). Action names
# are not case-sensitive in IAM; an unknown kms: name is refused instead of never matching.
KMS_ACTIONS = frozenset(
    name.lower()
    for name in (
        "CancelKeyDeletion", "ConnectCustomKeyStore", "CreateAlias", "CreateCustomKeyStore",
        "CreateGrant", "CreateKey", "Decapsulate", "Decrypt", "DeleteAlias",
        "DeleteCustomKeyStore", "DeleteImportedKeyMaterial", "DeriveSharedSecret",
        "DescribeCustomKeyStores", "DescribeKey", "DisableKey", "DisableKeyRotation",
        "DisconnectCustomKeyStore", "EnableKey", "EnableKeyRotation", "Encapsulate", "Encrypt",
        "GenerateDataKey", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext",
        "GenerateDataKeyWithoutPlaintext", "GenerateMac", "GenerateRandom", "GetKeyLastUsage",
        "GetKeyPolicy", "GetKeyRotationStatus", "GetParametersForImport", "GetPublicKey",
        "ImportKeyMaterial", "ListAliases", "ListGrants", "ListKeyPolicies", "ListKeyRotations",
        "ListKeys", "ListResourceTags", "ListRetirableGrants", "PutKeyPolicy", "ReEncryptFrom",
        "ReEncryptTo", "ReplicateKey", "RetireGrant", "RevokeGrant", "RotateKeyOnDemand",
        "ScheduleKeyDeletion", "Sign", "SynchronizeMultiRegionKey", "TagResource",
        "UntagResource", "UpdateAlias", "UpdateCustomKeyStore", "UpdateKeyDescription",
        "UpdatePrimaryRegion", "Verify", "VerifyMac",
    )
)  # fmt: skip

_ACCOUNT = r"\d{12}"
_IAM_NAME = r"[\w+=,.@/-]+"
_PARTITION = r"aws(-[a-z]+)*"  # aws, aws-cn, aws-us-gov, aws-iso-b, ...
_AWS_PRINCIPAL = re.compile(
    rf"arn:{_PARTITION}:iam::{_ACCOUNT}:(root|user/{_IAM_NAME}|role/{_IAM_NAME})"
    rf"|arn:{_PARTITION}:sts::{_ACCOUNT}:assumed-role/{_IAM_NAME}"
)
_SERVICE_PRINCIPAL = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+")
# Key policy characters: printable ASCII and Latin-1, tab, line feed, carriage return.
_BAD_CHARACTER = re.compile(r"[^\t\n\r\x20-\x7e\xa0-\xff]")
_STATEMENT_KEYS = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
     "NotResource", "Condition"}
)  # fmt: skip


class Decision(enum.Enum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Statement:
    """One statement, checked and normalised (actions in lower case, principals as ARNs)."""

    sid: str | None
    effect: str
    principals: tuple[str, ...]
    """AWS principal ARNs, ``*`` for everyone, or ``service:NAME`` for a service principal."""
    not_principal: bool
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...] | None
    """None when the statement has no Resource: it then applies to nothing (KMS accepts it)."""
    not_resource: bool
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]

    @cached_property
    def has_conditions(self) -> bool:
        return any(s.conditions for s in self.statements)

    @cached_property
    def decisions(self) -> dict[tuple[str, str, str], Evaluation]:
        """Decisions already made, for a policy without conditions (see ``evaluate``)."""
        return {}

    def names_condition_key(self, prefix: str) -> bool:
        """Whether any condition uses a key starting with ``prefix`` (lower case)."""
        return any(c.key.startswith(prefix) for s in self.statements for c in s.conditions)


@dataclass(frozen=True)
class Request:
    """What a request asks for, as the evaluator sees it.

    ``context`` maps condition keys (lower case) to a string, or to a tuple of strings for a
    multi-valued key; keys absent from the request are absent from it.
    """

    principal: str
    action: str
    resource: str
    context: Mapping[str, object]


@dataclass(frozen=True)
class Evaluation:
    decision: Decision
    statement: str | None = None
    """The Sid (or position) of the statement that decided, for messages."""


def default_policy(account_id: str, *, partition: str = "aws") -> str:
    """AWS KMS's default key policy: the account's principal may do everything with the key."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "key-default-1",
            "Statement": [
                {
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )


_INVALID = object()


def _not_json(constant: str) -> object:
    """Python's parser takes NaN and Infinity; JSON (RFC 8259) and KMS do not."""
    raise ValueError(f"{constant} is not JSON")


def check_policy(policy: str) -> str:
    """A key policy document as KMS accepts it (``parse_policy``); returns it unchanged."""
    parse_policy(policy)
    return policy


def parse_policy(policy: str) -> Policy:
    """Check a key policy document and return it parsed.

    Raises:
        LimitExceededException: the document is over 32 KB.
        MalformedPolicyDocumentException: it is not a key policy this service can evaluate,
            with the reason (not JSON, a forbidden character, no statements, a statement
            without Effect, Principal or Action, an invalid principal or action, an unknown
            condition operator or key, ...).
    """
    if not isinstance(policy, str) or not policy:
        raise malformed("the key policy must be a non-empty JSON string")
    return _parse(policy)


@lru_cache(maxsize=256)
def _parse(policy: str) -> Policy:
    # Parsed once per document text: every authorized request parses its key's policy.
    try:
        size = len(policy.encode("utf-8"))
    except UnicodeEncodeError:
        raise malformed("the key policy is not valid UTF-8") from None
    if size > MAX_POLICY_BYTES:
        raise LimitExceededException(
            f"the key policy is {size} bytes; a key policy is at most {MAX_POLICY_BYTES} bytes"
        )
    bad = _BAD_CHARACTER.search(policy)
    if bad:
        raise malformed(
            f"the key policy holds the character U+{ord(bad.group()):04X}; a key policy may hold "
            "only printable ASCII and Latin-1 characters, tab, line feed and carriage return"
        )
    document: object = _INVALID
    # RecursionError: nesting deeper than Python's stack. Raised below, unchained.
    with contextlib.suppress(ValueError, RecursionError):
        document = json.loads(policy, object_pairs_hook=_no_duplicates, parse_constant=_not_json)
    if document is _INVALID:
        raise malformed("the key policy is not valid JSON")
    if not isinstance(document, dict):
        raise malformed("the key policy must be a JSON object")
    unknown = set(document) - {"Version", "Id", "Statement"}
    if unknown:
        raise malformed(f"the key policy has unknown elements: {', '.join(sorted(unknown))}")
    version = document.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise malformed(f"Version must be one of {', '.join(VERSIONS)}, not {version!r}")
    if "Id" in document and not isinstance(document["Id"], str):
        raise malformed("Id must be a string")
    raw = document.get("Statement")
    statements = [raw] if isinstance(raw, dict) else raw
    if not isinstance(statements, list) or not statements:
        raise malformed("the key policy must have a Statement with at least one statement")
    return Policy(tuple(_statement(s, i) for i, s in enumerate(statements)))


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for name, value in pairs:
        if name in result:
            raise malformed(f"the key policy repeats the element {name!r}")
        result[name] = value
    return result


def _strings(value: object, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item for item in items):
        raise malformed(f"{where} must be a non-empty string or list of strings")
    return tuple(str(item) for item in items)


def _statement(raw: object, index: int) -> Statement:
    where = f"statement {index + 1}"
    if not isinstance(raw, dict):
        raise malformed(f"{where} is not a JSON object")
    unknown = set(raw) - _STATEMENT_KEYS
    if unknown:
        raise malformed(f"{where} has unknown elements: {', '.join(sorted(unknown))}")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise malformed(f"{where}: Sid must be a string")
    if sid:
        where = f"statement {sid!r}"
    effect = raw.get("Effect")
    if effect not in (ALLOW, DENY):
        raise malformed(f"{where}: Effect must be Allow or Deny")
    principal_key = _one_of(raw, "Principal", "NotPrincipal", where)
    action_key = _one_of(raw, "Action", "NotAction", where)
    resources: tuple[str, ...] | None = None
    not_resource = "NotResource" in raw
    if "Resource" in raw and not_resource:
        raise malformed(f"{where} has both Resource and NotResource")
    if "Resource" in raw or not_resource:
        resources = _strings(raw["NotResource" if not_resource else "Resource"], where)
        for resource in resources:
            if resource != "*" and not resource.startswith("arn:"):
                raise malformed(f"{where}: Resource must be * or an ARN, not {resource!r}")
    conditions = _parse_conditions(raw["Condition"], where) if "Condition" in raw else ()
    return Statement(
        sid=sid,
        effect=effect,
        principals=_principals(raw[principal_key], where),
        not_principal=principal_key == "NotPrincipal",
        actions=tuple(_action(a, where) for a in _strings(raw[action_key], where)),
        not_action=action_key == "NotAction",
        resources=resources,
        not_resource=not_resource,
        conditions=conditions,
    )


def _one_of(raw: dict[str, object], element: str, negated: str, where: str) -> str:
    if (element in raw) == (negated in raw):
        raise malformed(f"{where} must have exactly one of {element} and {negated}")
    return element if element in raw else negated


def _principals(value: object, where: str) -> tuple[str, ...]:
    """Principals as ARNs: ``*`` stays, an account id becomes its root ARN, services are tagged."""
    if value == "*":
        return ("*",)
    if not isinstance(value, dict) or not value:
        raise malformed(f'{where}: Principal must be * or an object such as {{"AWS": ...}}')
    result: list[str] = []
    for kind, names in value.items():
        for name in _strings(names, f"{where}: Principal {kind}"):
            if kind == "AWS":
                if name == "*":
                    result.append("*")
                elif re.fullmatch(_ACCOUNT, name):
                    result.append(f"arn:aws:iam::{name}:root")
                elif _AWS_PRINCIPAL.fullmatch(name):
                    result.append(name)
                else:
                    raise malformed(f"{where}: {name!r} is not a valid AWS principal")
            elif kind == "Service":
                if not _SERVICE_PRINCIPAL.fullmatch(name):
                    raise malformed(f"{where}: {name!r} is not a valid service principal")
                result.append(f"service:{name}")
            else:
                raise malformed(f"{where}: principals of type {kind!r} are not supported")
    return tuple(result)


def _action(action: str, where: str) -> str:
    if action == "*":
        return action
    service, sep, name = action.partition(":")
    if not sep or not name or service.lower() != "kms":
        raise malformed(f"{where}: {action!r} is not a KMS action (kms:Operation)")
    lowered = action.lower()
    if "*" not in name and "?" not in name and name.lower() not in KMS_ACTIONS:
        raise malformed(f"{where}: {action!r} is not a KMS action")
    return lowered


# --- evaluation --------------------------------------------------------------------------------
def is_aws_principal(arn: str) -> bool:
    """Whether ``arn`` is an AWS principal ARN (an account, user, role or role session)."""
    return bool(_AWS_PRINCIPAL.fullmatch(arn))


def account_of(principal: str) -> str | None:
    """The account of a principal ARN (``arn:aws:iam::ACCOUNT:...``), or None."""
    parts = principal.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[0] == "arn" else None


def partition_of(arn: str) -> str:
    """The partition of an ARN (``aws``, ``aws-cn``, ...); ``aws`` when it has none."""
    parts = arn.split(":", 2)
    return parts[1] if len(parts) == 3 and parts[0] == "arn" and parts[1] else "aws"


def _is_account_principal(arn: str) -> bool:
    parts = arn.split(":", 5)
    return len(parts) == 6 and parts[2] == "iam" and parts[5] == "root"


def _same_role(role_arn: str, caller: str) -> bool:
    # A role principal covers the sessions of that role (IAM, "Role session principals").
    if ":role/" not in role_arn or ":assumed-role/" not in caller:
        return False
    account = account_of(role_arn)
    role = role_arn.rsplit(":role/", 1)[1].rsplit("/", 1)[-1]
    session_role = caller.split(":assumed-role/", 1)[1].split("/", 1)[0]
    return account == account_of(caller) and role == session_role


def principal_covers(principal: str, caller: str) -> bool:
    """Whether a Principal entry covers the caller: ``*``, the caller's ARN, a role of its
    session, or its account principal (which stands for every principal of the account)."""
    if principal in ("*", caller):
        return True
    if _is_account_principal(principal):
        return account_of(principal) == account_of(caller)
    return _same_role(principal, caller)


def _names(principal: str, caller: str) -> bool:
    # NotPrincipal exempts the principals it names: an account principal there exempts only
    # the account principal itself, so that "NotPrincipal: [user, account]" exempts that user
    # alone (IAM, reference_policies_elements_notprincipal).
    return principal in ("*", caller) or _same_role(principal, caller)


def _applies(statement: Statement, request: Request) -> bool:
    if statement.resources is None:
        return False  # KMS: a statement without Resource applies to no key
    if statement.not_principal:
        if any(_names(p, request.principal) for p in statement.principals):
            return False
    elif not any(principal_covers(p, request.principal) for p in statement.principals):
        return False
    action = request.action.lower()
    named = any(a in ("*", "kms:*", action) or glob_match(a, action) for a in statement.actions)
    if named == statement.not_action:
        return False
    resource_named = any(r == "*" or glob_match(r, request.resource) for r in statement.resources)
    if resource_named == statement.not_resource:
        return False
    deny = statement.effect == DENY
    return all(
        condition_holds(c, request.context, effect_is_deny=deny) for c in statement.conditions
    )


def evaluate(policy: Policy, request: Request) -> Evaluation:
    """Decide a request: an explicit Deny wins over any Allow; without an Allow it is denied."""
    if policy.has_conditions:
        return _evaluate(policy, request)
    # Without conditions the decision depends on the principal, action and key alone.
    memo = policy.decisions
    found = memo.get((request.principal, request.action, request.resource))
    if found is None:
        if len(memo) >= _MEMO:
            memo.clear()
        found = memo[(request.principal, request.action, request.resource)] = _evaluate(
            policy, request
        )
    return found


def _evaluate(policy: Policy, request: Request) -> Evaluation:
    allowed: str | None = None
    for index, statement in enumerate(policy.statements):
        if not _applies(statement, request):
            continue
        name = statement.sid or f"statement {index + 1}"
        if statement.effect == DENY:
            return Evaluation(Decision.EXPLICIT_DENY, name)
        allowed = allowed or name
    if allowed is not None:
        return Evaluation(Decision.ALLOWED, allowed)
    return Evaluation(Decision.IMPLICIT_DENY)


def denied_message(request: Request, decision: Decision, *, policy_type: str) -> str:
    """AWS's wording of an access denial (IAM, ``troubleshoot_access-denied``).

    ``policy_type`` is ``resource-based`` for a key policy, ``identity-based`` for account-level
    operations.
    """
    head = (
        f"User: {request.principal} is not authorized to perform: {request.action} "
        f"on resource: {request.resource}"
    )
    if decision is Decision.EXPLICIT_DENY:
        return f"{head} with an explicit deny in a {policy_type} policy"
    return f"{head} because no {policy_type} policy allows the {request.action} action"
