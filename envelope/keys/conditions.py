"""Key policy conditions: the operators, set qualifiers and condition keys, parsed and evaluated.

Pure functions over a request context (condition key -> value): no I/O, no clock. What is
accepted is what the IAM policy reference (``reference_policies_elements_condition_operators``,
``reference_policies_multi-value-conditions``, ``reference_policies_variables``) and the KMS
developer guide (``conditions-kms``, ``conditions-aws``) describe for the keys below; anything
else is refused when a policy is stored (``MalformedPolicyDocumentException``) rather than
silently never matching, as an unknown operator or key would on AWS.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from envelope.errors import MalformedPolicyDocumentException

# --- condition key types --------------------------------------------------------------------------
STRING, ARN, BOOL, IP = "String", "ARN", "Bool", "IPAddress"

# Condition key (lower case: IAM condition key names are not case-sensitive) -> (type, multi).
KEYS: dict[str, tuple[str, bool]] = {
    # AWS global condition keys (IAM reference_policies_condition-keys).
    "aws:sourceip": (IP, False),
    "aws:principalarn": (ARN, False),
    "aws:principalaccount": (STRING, False),
    "aws:principaltype": (STRING, False),
    "aws:username": (STRING, False),
    "aws:securetransport": (BOOL, False),
    "aws:requestedregion": (STRING, False),
    "aws:tagkeys": (STRING, True),
    # AWS KMS condition keys (KMS developer guide, conditions-kms).
    "kms:calleraccount": (STRING, False),
    "kms:encryptioncontextkeys": (STRING, True),
    "kms:encryptionalgorithm": (STRING, False),
    "kms:requestalias": (STRING, False),
    "kms:resourcealiases": (STRING, True),
    "kms:grantoperations": (STRING, True),
    "kms:granteeprincipal": (STRING, False),
    "kms:retiringprincipal": (STRING, False),
    "kms:grantconstrainttype": (STRING, False),
    "kms:grantisforawsresource": (BOOL, False),
    "kms:keyspec": (STRING, False),
    "kms:keyusage": (STRING, False),
    "kms:keyorigin": (STRING, False),
    "kms:customermasterkeyspec": (STRING, False),
    "kms:customermasterkeyusage": (STRING, False),
    "kms:viaservice": (STRING, False),
    "kms:bypasspolicylockoutsafetycheck": (BOOL, False),
    "kms:signingalgorithm": (STRING, False),
    "kms:messagetype": (STRING, False),
    "kms:macalgorithm": (STRING, False),
    "kms:datakeypairspec": (STRING, False),
    "kms:wrappingalgorithm": (STRING, False),
    "kms:wrappingkeyspec": (STRING, False),
    "kms:expirationmodel": (STRING, False),
}
# Keys named by a prefix and a free part: the encryption context key or the tag key.
PREFIXES: dict[str, tuple[str, bool]] = {
    "kms:encryptioncontext:": (STRING, False),
    "aws:resourcetag/": (STRING, False),
    "aws:requesttag/": (STRING, False),
}
# KMS refuses ForAllValues with these single-valued keys (conditions-kms, "Using set operators
# with condition keys"), with this text.
_OVERLY_PERMISSIVE = {
    "kms:encryptioncontext:": "encryption context",
    "aws:requesttag/": "tag",
}

# --- operators ------------------------------------------------------------------------------
# Base operator -> (key types it compares, negated).
_OPERATORS: dict[str, tuple[frozenset[str], bool]] = {
    "StringEquals": (frozenset({STRING, ARN}), False),
    "StringNotEquals": (frozenset({STRING, ARN}), True),
    "StringEqualsIgnoreCase": (frozenset({STRING, ARN}), False),
    "StringNotEqualsIgnoreCase": (frozenset({STRING, ARN}), True),
    "StringLike": (frozenset({STRING, ARN}), False),
    "StringNotLike": (frozenset({STRING, ARN}), True),
    "ArnEquals": (frozenset({ARN}), False),
    "ArnLike": (frozenset({ARN}), False),
    "ArnNotEquals": (frozenset({ARN}), True),
    "ArnNotLike": (frozenset({ARN}), True),
    "IpAddress": (frozenset({IP}), False),
    "NotIpAddress": (frozenset({IP}), True),
    "Bool": (frozenset({BOOL}), False),
    "Null": (frozenset({STRING, ARN, BOOL, IP}), False),
}
FOR_ANY, FOR_ALL = "ForAnyValue", "ForAllValues"

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULTED = re.compile(r"^\s*([^,]+?)\s*,\s*'([^']*)'\s*$")
_LITERAL_VARIABLES = {"*": "*", "?": "?", "$": "$"}
_SEGMENTS = 6  # arn:partition:service:region:account:resource


def malformed(message: str) -> MalformedPolicyDocumentException:
    return MalformedPolicyDocumentException(message)


@dataclass(frozen=True)
class Operator:
    """A condition operator as written: ``[ForAnyValue:|ForAllValues:]Base[IfExists]``."""

    name: str
    base: str
    qualifier: str | None
    if_exists: bool

    @property
    def negated(self) -> bool:
        return _OPERATORS[self.base][1]


@dataclass(frozen=True)
class Condition:
    """One operator applied to one key with its policy values (OR between values)."""

    operator: Operator
    key: str
    """The condition key in lower case."""
    values: tuple[str, ...]


def key_type(key: str) -> tuple[str, bool] | None:
    """The type of a condition key (lower case) and whether it is multi-valued; None if unknown."""
    known = KEYS.get(key)
    if known is not None:
        return known
    for prefix, kind in PREFIXES.items():
        if key.startswith(prefix) and len(key) > len(prefix):
            return kind
    return None


def parse_operator(name: object) -> Operator:
    """Raises: MalformedPolicyDocumentException for an operator this service does not know."""
    if not isinstance(name, str):
        raise malformed("a condition operator must be a string")
    rest, qualifier = name, None
    for prefix in (FOR_ANY, FOR_ALL):
        if rest.startswith(prefix + ":"):
            qualifier, rest = prefix, rest[len(prefix) + 1 :]
    if_exists = rest.endswith("IfExists") and rest != "IfExists"
    base = rest[: -len("IfExists")] if if_exists else rest
    if base not in _OPERATORS:
        raise malformed(
            f"the condition operator {name!r} is not supported; use one of "
            f"{', '.join(sorted(_OPERATORS))}, with ...IfExists or a "
            f"{FOR_ANY}:/{FOR_ALL}: qualifier where IAM allows it"
        )
    if base == "Null" and (if_exists or qualifier):
        raise malformed(f"the condition operator {name!r} is not valid: Null takes no qualifier")
    return Operator(name, base, qualifier, if_exists)


def _text(value: object, where: str) -> str:
    # IAM takes booleans and numbers in condition values as their JSON text.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return value
    raise malformed(f"{where}: condition values must be strings, numbers or booleans")


def _check_variables(value: str, where: str) -> None:
    for match in _VARIABLE.finditer(value):
        inner = match.group(1)
        if inner in _LITERAL_VARIABLES:
            continue
        defaulted = _DEFAULTED.match(inner)
        name = (defaulted.group(1) if defaulted else inner).strip().lower()
        known = key_type(name)
        if known is None or known[1]:
            raise malformed(
                f"{where}: the policy variable ${{{inner}}} is not a known single-valued key"
            )


def parse_condition_block(block: object, where: str) -> tuple[Condition, ...]:
    """The ``Condition`` element of a statement, checked.

    Raises:
        MalformedPolicyDocumentException: not an object of operators to objects of keys, an
            unknown operator or key, an operator that does not fit its key's type, a value that
            does not fit it, or a set qualifier KMS refuses.
    """
    if not isinstance(block, dict) or not block:
        raise malformed(f"{where}: Condition must be a non-empty object")
    conditions: list[Condition] = []
    for operator_name, entries in block.items():
        operator = parse_operator(operator_name)
        if not isinstance(entries, dict) or not entries:
            raise malformed(f"{where}: {operator_name} must map condition keys to values")
        for key_name, raw in entries.items():
            context = f"{where}: {operator_name}"
            conditions.append(_parse_condition(operator, key_name, raw, context))
    return tuple(conditions)


def _parse_condition(operator: Operator, key_name: object, raw: object, where: str) -> Condition:
    if not isinstance(key_name, str):
        raise malformed(f"{where}: condition keys must be strings")
    key = key_name.lower()
    known = key_type(key)
    if known is None:
        raise malformed(f"{where}: the condition key {key_name!r} is not supported")
    kind, multi = known
    accepted, _negated = _OPERATORS[operator.base]
    if kind not in accepted:
        raise malformed(f"{where}: {key_name} is a {kind} key; {operator.base} cannot compare it")
    if multi and operator.qualifier is None and operator.base != "Null":
        raise malformed(
            f"{where}: {key_name} is multi-valued; qualify the operator with "
            f"{FOR_ANY}: or {FOR_ALL}:"
        )
    if operator.qualifier == FOR_ALL:
        for prefix, what in _OVERLY_PERMISSIVE.items():
            if key.startswith(prefix):
                raise malformed(
                    f"OverlyPermissiveCondition: Using the ForAllValues set operator with a "
                    f"single-valued condition key matches requests without the specified {what} "
                    f"or with an unspecified {what}. To fix, remove ForAllValues."
                )
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise malformed(f"{where}: {key_name} has no values")
    values = tuple(_text(item, f"{where} {key_name}") for item in items)
    for value in values:
        _check_value(operator.base, value, f"{where} {key_name}")
    return Condition(operator, key, values)


def _check_value(base: str, value: str, where: str) -> None:
    if base in ("Bool", "Null"):
        if value.lower() not in ("true", "false") and not _VARIABLE.search(value):
            raise malformed(f"{where}: {base} takes true or false, not {value!r}")
        if base == "Null" and _VARIABLE.search(value):
            raise malformed(f"{where}: Null takes no policy variable")
    elif base in ("IpAddress", "NotIpAddress"):
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise malformed(f"{where}: {value!r} is not an IP address or CIDR range") from None
    else:
        _check_variables(value, where)
        arn = base.startswith("Arn") and not _VARIABLE.search(value) and value != "*"
        if arn and len(value.split(":", _SEGMENTS - 1)) != _SEGMENTS:
            raise malformed(f"{where}: {value!r} is not an ARN (or ARN pattern)")


# --- evaluation -----------------------------------------------------------------------------
def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's wildcard match of a whole string: ``*`` any run of characters, ``?`` one.

    The classic greedy matcher that remembers only the last ``*``: at most
    len(pattern) x len(value) steps whatever the input (a regular expression backtracks
    exponentially on patterns such as ``*a*a*a*a*b``, and request values come from callers).
    """
    if ignore_case:
        pattern, value = pattern.casefold(), value.casefold()
    p = v = 0
    star, resume = -1, 0
    while v < len(value):
        if p < len(pattern) and pattern[p] == "*":
            star, resume = p, v
            p += 1
        elif p < len(pattern) and pattern[p] in ("?", value[v]):
            p += 1
            v += 1
        elif star >= 0:
            p, resume = star + 1, resume + 1
            v = resume
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def _arn_match(pattern: str, value: str) -> bool:
    # ARN operators compare the six colon-separated parts one by one (IAM, ARN operators).
    if pattern == "*":
        return True
    wanted = pattern.split(":", _SEGMENTS - 1)
    found = value.split(":", _SEGMENTS - 1)
    if len(wanted) != _SEGMENTS or len(found) != _SEGMENTS:
        return False
    return all(glob_match(p, v) for p, v in zip(wanted, found, strict=True))


def _resolve(value: str, context: Mapping[str, object]) -> str | None:
    """Policy variables replaced by request values; None if one has no value (IAM: null)."""
    missing = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal missing
        inner = match.group(1)
        if inner in _LITERAL_VARIABLES:
            return _LITERAL_VARIABLES[inner]
        defaulted = _DEFAULTED.match(inner)
        name = (defaulted.group(1) if defaulted else inner).strip().lower()
        found = context.get(name)
        if isinstance(found, str):
            return found
        if defaulted:
            return defaulted.group(2)
        missing = True
        return ""

    text = _VARIABLE.sub(substitute, value) if "${" in value else value
    return None if missing else text


def _positive_match(base: str, request: str, policy: str) -> bool:
    if base in ("StringEquals", "StringNotEquals"):
        return request == policy
    if base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return request.casefold() == policy.casefold()
    if base in ("StringLike", "StringNotLike"):
        return glob_match(policy, request)
    if base.startswith("Arn"):
        return _arn_match(policy, request)
    if base == "Bool":
        return request.lower() == policy.lower()
    if base in ("IpAddress", "NotIpAddress"):
        try:
            address = ipaddress.ip_address(request)
            network = ipaddress.ip_network(policy, strict=False)
        except ValueError:
            return False
        return address.version == network.version and address in network
    raise AssertionError(base)  # pragma: no cover - parse_operator admits no other operator


def _one(condition: Condition, request: str, policy_values: Sequence[str | None]) -> bool:
    """Whether one request value satisfies the condition (a negated operator: matches none)."""
    base = condition.operator.base
    matched = any(p is not None and _positive_match(base, request, p) for p in policy_values)
    return not matched if condition.operator.negated else matched


def condition_holds(
    condition: Condition, context: Mapping[str, object], *, effect_is_deny: bool
) -> bool:
    """Evaluate one condition against the request context.

    Args:
        condition: the parsed condition.
        context: condition key (lower case) -> a string, or a tuple for multi-valued keys;
            absent keys are not in it.
        effect_is_deny: the statement's effect. It matters only when a single-valued key has
            several values in the request (encryption context or tag keys that differ only in
            case, which IAM matches to one key): an Allow then needs every value to satisfy the
            condition, a Deny only one, so the ambiguity never widens access.
    """
    operator = condition.operator
    found = context.get(condition.key)
    present = found is not None and found != ()
    if operator.base == "Null":
        # Null: true means "the key is absent", false "it is present"; several values are ORed.
        return any((value.lower() == "true") != present for value in condition.values)
    if not present:
        if operator.if_exists or operator.qualifier == FOR_ALL:
            return True
        if operator.qualifier == FOR_ANY:
            return False
        return operator.negated
    request_values = found if isinstance(found, tuple) else (str(found),)
    policy_values = [_resolve(value, context) for value in condition.values]
    results = [_one(condition, value, policy_values) for value in request_values]
    if operator.qualifier == FOR_ALL:
        return all(results)
    if operator.qualifier == FOR_ANY:
        return any(results)
    return any(results) if effect_is_deny else all(results)
