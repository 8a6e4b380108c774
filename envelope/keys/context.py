"""The request context a key policy is evaluated against: request facts -> condition key values.

Pure. Condition key names are in lower case (IAM condition key names are not case-sensitive);
a fact the request does not have leaves its key out, so ``Null`` and ``...IfExists`` see it as
absent. Which facts an operation has is decided by the caller (``keys.local.access``); the
mapping from facts to keys is here, once (KMS developer guide, ``conditions-kms``; IAM,
``reference_policies_condition-keys``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from envelope.keys.policy import account_of


@dataclass(frozen=True)
class GrantFacts:
    """What a CreateGrant request asks for (the ``kms:Grant*`` condition keys)."""

    operations: tuple[str, ...]
    grantee_principal: str | None = None
    retiring_principal: str | None = None
    constraint_type: str | None = None
    """``EncryptionContextEquals`` or ``EncryptionContextSubset`` when the grant has one."""
    constraint_context: Mapping[str, str] | None = None


def principal_type(arn: str) -> str:
    """``aws:PrincipalType``: Account, User, AssumedRole (IAM, aws:PrincipalType)."""
    if arn.endswith(":root"):
        return "Account"
    if ":assumed-role/" in arn:
        return "AssumedRole"
    return "User"


def principal_arn(caller: str) -> str:
    """``aws:PrincipalArn``: the caller's ARN, except that a role session gives its role's ARN
    (IAM, reference_policies_condition-keys, aws:PrincipalArn: "Do not specify the assumed role
    session ARN"). A session ARN does not carry the role's path, so the role ARN here has none.
    """
    head, marker, session = caller.partition(":assumed-role/")
    fields = head.split(":")  # arn:PARTITION:sts::ACCOUNT
    if not marker or len(fields) != 5 or fields[0] != "arn":
        return caller  # not a role session's ARN: the caller as given
    return f"arn:{fields[1]}:iam::{fields[4]}:role/{session.split('/', 1)[0]}"


def request_context(
    *,
    caller: str,
    region: str,
    source_ip: str | None = None,
    secure_transport: bool | None = None,
    encryption_context: Mapping[str, str] | None = None,
    encryption_algorithm: str | None = None,
    request_alias: str | None = None,
    resource_aliases: Sequence[str] | None = None,
    resource_tags: Mapping[str, str] | None = None,
    key_spec: str | None = None,
    key_usage: str | None = None,
    key_origin: str | None = None,
    grant: GrantFacts | None = None,
    bypass_lockout_check: bool | None = None,
    request_tags: Mapping[str, str] | None = None,
    tag_keys: Sequence[str] | None = None,
    parameters: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """The condition key values of one request.

    Args:
        caller: the principal's ARN (``arn:aws:iam::ACCOUNT:user/NAME``, ``...:root``, ...).
        region: the service's region (``aws:RequestedRegion``).
        source_ip: the caller's address (``aws:SourceIp``); None when unknown (in-process).
        secure_transport: whether the request came over TLS; None when there is no transport.
        encryption_context: the request's encryption context; None for operations without one,
            ``{}`` for a request that could have one and has none.
        encryption_algorithm: ``kms:EncryptionAlgorithm``.
        request_alias: the alias name the request named the key by (``kms:RequestAlias``).
        resource_aliases: the key's aliases (``kms:ResourceAliases``).
        resource_tags: the key's tags (``aws:ResourceTag/KEY``).
        key_spec: ``kms:KeySpec``; key_usage: ``kms:KeyUsage``; key_origin: ``kms:KeyOrigin``.
        grant: a CreateGrant request's grant.
        bypass_lockout_check: ``kms:BypassPolicyLockoutSafetyCheck``, when the request set it.
        request_tags: TagResource's tags (``aws:RequestTag/KEY``, ``aws:TagKeys``).
        tag_keys: UntagResource's keys (``aws:TagKeys``).
        parameters: other request parameters by their condition key (``kms:SigningAlgorithm``,
            ``kms:MacAlgorithm``, ``kms:DataKeyPairSpec``, ``kms:WrappingAlgorithm``, ...).
    """
    account = account_of(caller) or ""
    context: dict[str, object] = {
        "aws:principalarn": principal_arn(caller),
        "aws:principalaccount": account,
        "aws:principaltype": principal_type(caller),
        "kms:calleraccount": account,
        "aws:requestedregion": region,
    }
    if ":user/" in caller:
        context["aws:username"] = caller.rsplit("/", 1)[1]
    if source_ip is not None:
        context["aws:sourceip"] = source_ip
    if secure_transport is not None:
        context["aws:securetransport"] = _bool(secure_transport)
    if encryption_context is not None:
        _add_context(context, encryption_context)
    if encryption_algorithm is not None:
        context["kms:encryptionalgorithm"] = encryption_algorithm
    if request_alias is not None:
        context["kms:requestalias"] = request_alias
    if resource_aliases is not None:
        context["kms:resourcealiases"] = tuple(resource_aliases)
    if resource_tags is not None:
        _add_many(context, "aws:resourcetag/", resource_tags)
    for name, value in (("kms:keyspec", key_spec), ("kms:keyusage", key_usage)):
        if value is not None:
            context[name] = value
            context[name.replace("kms:key", "kms:customermasterkey")] = value  # deprecated names
    if key_origin is not None:
        context["kms:keyorigin"] = key_origin
    if grant is not None:
        context["kms:grantoperations"] = tuple(grant.operations)
        if grant.grantee_principal is not None:
            context["kms:granteeprincipal"] = grant.grantee_principal
        if grant.retiring_principal is not None:
            context["kms:retiringprincipal"] = grant.retiring_principal
        if grant.constraint_type is not None:
            context["kms:grantconstrainttype"] = grant.constraint_type
        # CreateGrant: kms:EncryptionContext* describe the grant's constraint (conditions-kms).
        _add_context(context, grant.constraint_context or {})
    if bypass_lockout_check is not None:
        context["kms:bypasspolicylockoutsafetycheck"] = _bool(bypass_lockout_check)
    if request_tags is not None:
        _add_many(context, "aws:requesttag/", request_tags)
        context["aws:tagkeys"] = tuple(request_tags)
    if tag_keys is not None:
        context["aws:tagkeys"] = tuple(tag_keys)
    for name, value in (parameters or {}).items():
        context[name.lower()] = value
    return context


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _add_context(context: dict[str, object], pairs: Mapping[str, str]) -> None:
    _add_many(context, "kms:encryptioncontext:", pairs)
    context["kms:encryptioncontextkeys"] = tuple(pairs)


def _add_many(context: dict[str, object], prefix: str, pairs: Mapping[str, str]) -> None:
    # The key part is not case-sensitive: pairs whose keys differ only in case both land on
    # one condition key, as several values (conditions.condition_holds decides about them).
    # Gathered in lists first: growing a tuple per value was quadratic in a caller's case
    # variants (65,536 variants of one 16-letter key: 11 s in-process).
    gathered: dict[str, list[str]] = {}
    for name, value in pairs.items():
        gathered.setdefault(prefix + name.lower(), []).append(value)
    for key, values in gathered.items():
        found = context.get(key)
        if found is not None:  # a key set before (grant constraint pairs after the request's)
            values = [*(found if isinstance(found, tuple) else (found,)), *values]
        context[key] = values[0] if len(values) == 1 else tuple(values)
