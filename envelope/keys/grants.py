"""Grants: what CreateGrant accepts, and what a grant allows (pure; KMS developer guide,
``grants``, ``create-grant-overview`` and ``grant-manage``).

A grant only ever allows: it names one grantee, the operations it may call on one key, and
optionally an encryption-context constraint those calls must meet. A grant that carries
``CreateGrant`` lets its grantee create only grants that are no wider (a subset of its
operations) and no looser (a constraint at least as strict).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from envelope.errors import ValidationException
from envelope.keys.base import SYMMETRIC_DEFAULT
from envelope.keys.validate import check_context, check_string, invalid

EQUALS = "EncryptionContextEquals"
SUBSET = "EncryptionContextSubset"
CONSTRAINT_TYPES = (EQUALS, SUBSET)
MAX_CONSTRAINT_PAIRS = 8
MAX_CONSTRAINT_VALUE = 384
"""create-grant-overview: "up to 8 encryption context pairs", values "cannot exceed 384"."""
MAX_GRANTS_PER_KEY = 50000
MAX_GRANTS_PER_GRANTEE = 500
"""KMS quotas (resource-limits): grants per KMS key, and per principal on one key."""

GRANT_OPERATIONS = (
    "Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom",
    "ReEncryptTo", "Sign", "Verify", "GetPublicKey", "CreateGrant", "RetireGrant", "DescribeKey",
    "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac",
)  # fmt: skip
"""The grant operations of the KMS API (GrantOperation) this service knows."""
_ANY_KEY = frozenset({"CreateGrant", "RetireGrant", "DescribeKey"})
_BY_USAGE = {
    ("symmetric", "ENCRYPT_DECRYPT"): frozenset(
        {"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
         "ReEncryptFrom", "ReEncryptTo", "GenerateDataKeyPair",
         "GenerateDataKeyPairWithoutPlaintext"}
    ),
    ("asymmetric", "ENCRYPT_DECRYPT"): frozenset(
        {"Decrypt", "Encrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey"}
    ),
    ("asymmetric", "SIGN_VERIFY"): frozenset({"Sign", "Verify", "GetPublicKey"}),
    ("symmetric", "GENERATE_VERIFY_MAC"): frozenset({"GenerateMac", "VerifyMac"}),
    ("asymmetric", "GENERATE_VERIFY_MAC"): frozenset({"GenerateMac", "VerifyMac"}),
}  # fmt: skip
# Operations that take an encryption context; the others ignore a grant's constraint.
_WITH_CONTEXT = frozenset(
    {"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom",
     "ReEncryptTo", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"}
)  # fmt: skip
_GRANT_NAME = re.compile(r"[a-zA-Z0-9:/_-]+")
_PRINCIPAL_ID = re.compile(r"[\w+=,.@:/-]+")
GRANT_ID = re.compile(r"[0-9a-f]{64}")

Constraints = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
"""A grant's constraints in a canonical form: ((type, sorted pairs), ...) sorted by type."""


def operations_for(key_spec: str, key_usage: str) -> frozenset[str]:
    """The grant operations a key supports (grants, "Grant operations")."""
    kind = "symmetric" if key_spec in (SYMMETRIC_DEFAULT,) or key_spec.startswith("HMAC") else (
        "asymmetric"
    )
    return _ANY_KEY | _BY_USAGE.get((kind, key_usage), frozenset())


def check_operations(operations: Sequence[str], supported: frozenset[str]) -> tuple[str, ...]:
    """CreateGrant's Operations: a non-empty list of grant operations the key supports.

    Raises:
        ValidationException: not a list, empty, an unknown operation, or one the key lacks.
    """
    if isinstance(operations, (str, bytes)) or not isinstance(operations, Sequence):
        raise invalid("operations", "Member must be a list of grant operations")
    if not operations:
        raise invalid("operations", "Member must have length greater than or equal to 1")
    result: list[str] = []
    for operation in operations:
        if not isinstance(operation, str) or operation not in GRANT_OPERATIONS:
            raise invalid(
                "operations.member",
                f"Member must satisfy enum value set: [{', '.join(GRANT_OPERATIONS)}]",
            )
        if operation not in supported:
            raise ValidationException(
                f"the grant operation {operation} is not supported by this KMS key"
            )
        if operation not in result:
            result.append(operation)
    return tuple(result)


def check_principal(member: str, value: object) -> str:
    """A grantee or retiring principal: an ARN of an AWS principal or an account id.

    Raises:
        ValidationException: wrong type or length, characters outside the model's pattern.
    """
    text = check_string(member, value, 1, 256)  # type: ignore[arg-type]
    if not _PRINCIPAL_ID.fullmatch(text):
        raise invalid(member, r"Member must satisfy regular expression pattern: ^[\w+=,.@:/-]+$")
    if re.fullmatch(r"\d{12}", text):
        return f"arn:aws:iam::{text}:root"
    if not re.match(r"arn:aws(-[a-z]+)*:(iam|sts)::", text):
        raise ValidationException(f"{member} {text!r} is not a valid AWS principal")
    return text


def check_name(name: object) -> str | None:
    """CreateGrant's Name: 1-256 characters of ``[a-zA-Z0-9:/_-]``."""
    if name is None:
        return None
    text = check_string("name", name, 1, 256)  # type: ignore[arg-type]
    if not _GRANT_NAME.fullmatch(text):
        raise invalid("name", "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$")
    return text


def check_grant_id(grant_id: object, member: str = "grantId") -> str:
    """Raises: InvalidGrantIdException unless it has the shape of a grant id (64 hex digits)."""
    from envelope.errors import InvalidGrantIdException

    text = check_string(member, grant_id, 1, 128)  # type: ignore[arg-type]
    if not GRANT_ID.fullmatch(text):
        raise InvalidGrantIdException(f"{text!r} is not a valid grant id")
    return text


def check_constraints(constraints: object, *, symmetric: bool) -> Constraints:
    """CreateGrant's Constraints, in canonical form.

    Raises:
        ValidationException: an unknown member, a context that is not a map of strings, more
            than 8 pairs or a value over 384 characters, or a constraint on a key that takes no
            encryption context (only symmetric encryption keys do).
    """
    if constraints is None:
        return ()
    if not isinstance(constraints, Mapping):
        raise invalid("constraints", "Member must be a map of EncryptionContextEquals/Subset")
    unknown = set(constraints) - set(CONSTRAINT_TYPES)
    if unknown:
        raise ValidationException(
            f"grant constraints may be {' and '.join(CONSTRAINT_TYPES)}, not "
            f"{', '.join(sorted(map(str, unknown)))}"
        )
    result = []
    for kind in CONSTRAINT_TYPES:
        if constraints.get(kind) is None:
            continue
        pairs = check_context(constraints[kind])
        if len(pairs) > MAX_CONSTRAINT_PAIRS:
            raise ValidationException(
                f"{kind} has {len(pairs)} pairs; a grant constraint takes at most "
                f"{MAX_CONSTRAINT_PAIRS}"
            )
        if any(len(value) > MAX_CONSTRAINT_VALUE for value in pairs.values()):
            raise ValidationException(
                f"{kind} has a value over {MAX_CONSTRAINT_VALUE} characters"
            )
        result.append((kind, tuple(sorted(pairs.items()))))
    if result and not symmetric:
        raise ValidationException(
            "encryption context grant constraints are valid only for symmetric encryption keys"
        )
    return tuple(result)


def constraint_type(constraints: Constraints) -> str | None:
    """``kms:GrantConstraintType``: the constraint a grant has (Equals first if it has both)."""
    kinds = [kind for kind, _ in constraints]
    return EQUALS if EQUALS in kinds else (kinds[0] if kinds else None)


def constraint_context(constraints: Constraints) -> dict[str, str]:
    """The encryption context pairs a grant's constraints name (``kms:EncryptionContext:``)."""
    return {k: v for _, pairs in constraints for k, v in pairs}


def context_meets(constraints: Constraints, context: Mapping[str, str]) -> bool:
    """Whether a request's encryption context meets every constraint of a grant (exact,
    case-sensitive pairs; create-grant-overview, "Using grant constraints")."""
    for kind, pairs in constraints:
        wanted = dict(pairs)
        if kind == EQUALS and dict(context) != wanted:
            return False
        if kind == SUBSET and any(context.get(k) != v for k, v in wanted.items()):
            return False
    return True


def _at_least_as_strict(child: Constraints, parent: Constraints) -> bool:
    # A child may add pairs to a Subset constraint or turn it into Equals, never the reverse;
    # an Equals constraint stays exactly as it is (create-grant-overview, "Granting CreateGrant").
    child_equals = dict(dict(child).get(EQUALS, ()))
    child_subset = dict(dict(child).get(SUBSET, ()))
    for kind, pairs in parent:
        wanted = dict(pairs)
        if kind == EQUALS and (EQUALS not in dict(child) or child_equals != wanted):
            return False
        if kind == SUBSET:
            stricter = [c for k, c in ((EQUALS, child_equals), (SUBSET, child_subset))
                        if k in dict(child)]  # fmt: skip
            if not any(all(c.get(k) == v for k, v in wanted.items()) for c in stricter):
                return False
    return True


def grant_allows(
    operations: Sequence[str],
    constraints: Constraints,
    operation: str,
    *,
    context: Mapping[str, str] | None = None,
    child_operations: Sequence[str] = (),
    child_constraints: Constraints = (),
) -> bool:
    """Whether a grant allows one operation of a request.

    Args:
        operations, constraints: the grant's.
        operation: the grant operation the request needs (``Decrypt``, ``ReEncryptTo``, ...).
        context: the request's encryption context, for operations that take one.
        child_operations, child_constraints: for ``CreateGrant``, the grant being created.
    """
    if operation not in operations:
        return False
    if operation == "CreateGrant":
        return set(child_operations) <= set(operations) and _at_least_as_strict(
            child_constraints, constraints
        )
    if operation in _WITH_CONTEXT:
        return context_meets(constraints, context or {})
    return True  # DescribeKey, RetireGrant, GetPublicKey, ...: the constraint is ignored
