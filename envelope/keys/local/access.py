"""Who may do what with which key: LocalKeyService's one authorization point.

Every KeyService method of ``LocalKeyService`` is wrapped (``enforce``): the wrapper records the
operation and its arguments for the duration of the call. Every key an operation touches is
looked up through ``LocalCore._resolve``, which calls ``authorize_key`` here: the key policy is
evaluated for the caller, the action and the request's condition keys; an explicit Deny wins;
without an Allow, the caller's grants on the key are tried; otherwise ``AccessDeniedException``.
Operations on no key (CreateKey, ListKeys, ListAliases, GenerateRandom, ListRetirableGrants) are
IAM-only in AWS KMS; with no IAM here, every principal of the account may call them. A wrapped
operation that finishes without any authorization fails closed.

The caller is the service's (``LocalKeyService(caller=...)``, default the account principal),
or a view's (``with_caller``), which is how ``envelope serve`` runs each request as its signer.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from envelope.errors import (
    AccessDeniedException,
    InvalidGrantTokenException,
    KMSInternalException,
    LimitExceededException,
    MalformedPolicyDocumentException,
    ValidationException,
)
from envelope.keys import grants as _grants
from envelope.keys.base import SYMMETRIC_DEFAULT, KeyService
from envelope.keys.conditions import plain_address
from envelope.keys.context import GrantFacts, request_context
from envelope.keys.policy import (
    Decision,
    Policy,
    Request,
    account_of,
    denied_message,
    evaluate,
    is_aws_principal,
    parse_policy,
    partition_of,
)
from envelope.keys.store import GrantRecord, KeyRecord, Records

if TYPE_CHECKING:  # pragma: no cover
    from envelope.keys.local.core import LocalCore

KEY, ACCOUNT, GRANT = "key", "account", "grant"
_T = TypeVar("_T")

# Operations authorized by IAM policies alone in AWS KMS (no key resource) and RetireGrant,
# which its grant authorizes. Every other operation is authorized by the key policy and grants.
_SCOPES = {
    "create_key": ACCOUNT, "list_keys": ACCOUNT, "list_aliases": ACCOUNT,
    "generate_random": ACCOUNT, "list_retirable_grants": ACCOUNT, "retire_grant": GRANT,
}  # fmt: skip
# "Cross-account use: Yes" in the KMS API reference: a principal of another account may call
# these on a key whose policy (or a grant) lets it; every other operation is for the key's own
# account only.
_CROSS_ACCOUNT = frozenset(
    {"encrypt", "decrypt", "re_encrypt", "generate_data_key", "generate_data_key_without_plaintext",
     "generate_data_key_pair", "generate_data_key_pair_without_plaintext", "describe_key",
     "get_public_key", "create_grant", "list_grants", "revoke_grant", "retire_grant",
     "get_key_rotation_status", "sign", "verify", "generate_mac", "verify_mac"}
)  # fmt: skip
_ACTIONS = {"re_encrypt": "kms:ReEncryptFrom"}
"""ReEncrypt is two permissions: ReEncryptFrom on the source key (the default here) and
ReEncryptTo on the destination, which ``re_encrypt`` names when it looks that key up."""
# Condition key facts per operation (KMS developer guide, conditions-kms).
_WITH_CONTEXT = frozenset(
    {"encrypt", "decrypt", "generate_data_key", "generate_data_key_without_plaintext",
     "generate_data_key_pair", "generate_data_key_pair_without_plaintext"}
)  # fmt: skip
_NAMED_BY_ALIAS = _WITH_CONTEXT | {
    "re_encrypt", "describe_key", "get_public_key", "sign", "verify", "generate_mac", "verify_mac",
}  # fmt: skip
_PARAMETER_KEYS = {
    "signing_algorithm": "kms:SigningAlgorithm",
    "message_type": "kms:MessageType",
    "mac_algorithm": "kms:MacAlgorithm",
    "key_pair_spec": "kms:DataKeyPairSpec",
    "wrapping_algorithm": "kms:WrappingAlgorithm",
    "wrapping_key_spec": "kms:WrappingKeySpec",
    "expiration_model": "kms:ExpirationModel",
}
"""Request parameters whose value is a condition key of the same name (conditions-kms)."""
_LOCKOUT = (
    "The new key policy will not allow you to update the key policy in the future."
)  # KMS's MalformedPolicyDocumentException text for the lockout safety check


@dataclass(frozen=True)
class Caller:
    """The principal a service acts for, and where its request came from."""

    arn: str
    source_ip: str | None = None
    secure_transport: bool | None = None

    @property
    def account(self) -> str:
        return account_of(self.arn) or ""


def check_caller(arn: object, source_ip: object = None, *, partition: str = "aws") -> Caller:
    """Raises: ValidationException for a caller that is not an AWS principal ARN of the
    service's partition, or an address that is not an IP address."""
    if not isinstance(arn, str) or not is_aws_principal(arn):
        raise ValidationException(
            f"caller {arn!r} is not an AWS principal ARN (arn:aws:iam::ACCOUNT:user/NAME, "
            "arn:aws:iam::ACCOUNT:role/NAME or arn:aws:iam::ACCOUNT:root)"
        )
    if partition_of(arn) != partition:
        # Partitions share no principals: an aws-cn user is no principal of an aws account,
        # whatever its account number (the account principal compares accounts alone).
        raise ValidationException(
            f"caller {arn!r} is in partition {partition_of(arn)}; this service's principals "
            f"are in partition {partition}"
        )
    if source_ip is not None:
        try:
            source_ip = str(plain_address(str(source_ip)))
        except ValueError:
            raise ValidationException(f"source_ip {source_ip!r} is not an IP address") from None
    return Caller(arn, source_ip)


@dataclass(frozen=True)
class Rule:
    action: str
    scope: str
    cross_account: bool


def rule_for(method: str) -> Rule:
    pascal = "".join(part.capitalize() for part in method.split("_"))
    return Rule(
        action=_ACTIONS.get(method, f"kms:{pascal}"),
        scope=_SCOPES.get(method, KEY),
        cross_account=method in _CROSS_ACCOUNT,
    )


@dataclass
class Call:
    """One operation in progress: what it was asked, and whether it has been authorized."""

    method: str
    rule: Rule
    arguments: dict[str, Any] = field(repr=False)
    """The operation's keyword arguments: plaintext and data keys among them, so never in repr."""
    authorized: bool = False
    tokens: set[str] = field(default_factory=set)
    """Grant tokens of the request, once checked."""


_CALL: contextvars.ContextVar[Call | None] = contextvars.ContextVar("envelope_call", default=None)


def current_call() -> Call:
    call = _CALL.get()
    if call is None:
        raise KMSInternalException("a key was used outside an operation")
    return call


def operations() -> list[str]:
    """The KeyService methods: what ``enforce`` wraps."""
    return sorted(
        name for name, _ in inspect.getmembers(KeyService, inspect.isfunction)
        if not name.startswith("_")
    )  # fmt: skip


def enforce(cls: type[_T]) -> type[_T]:
    """Class decorator: every KeyService method of ``cls`` runs as an authorized operation."""
    for name in operations():
        setattr(cls, name, _wrap(name, getattr(cls, name)))
    return cls


def _wrap(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    rule = rule_for(name)

    @functools.wraps(method)
    def operation(self: LocalCore, **arguments: Any) -> Any:
        call = Call(name, rule, arguments)
        token = _CALL.set(call)
        try:
            if rule.scope == ACCOUNT:
                authorize_account(self, call)
            result = method(self, **arguments)
        finally:
            _CALL.reset(token)
        if not call.authorized:  # a lookup that skipped authorization: never answer
            raise KMSInternalException(f"{rule.action} finished without an authorization check")
        return result

    return operation


# --- decisions -----------------------------------------------------------------------------------
def _deny(request: Request, decision: Decision, policy_type: str = "resource-based") -> None:
    raise AccessDeniedException(denied_message(request, decision, policy_type=policy_type))


def authorize_account(service: LocalCore, call: Call) -> None:
    """Operations on no key: allowed to every principal of the service's account."""
    caller = service._caller
    if caller.account != service.account_id:
        request = Request(caller.arn, call.rule.action, "*", {})
        _deny(request, Decision.IMPLICIT_DENY, "identity-based")
    call.authorized = True


def authorize_key(
    service: LocalCore,
    key: KeyRecord,
    requested: str,
    records: Records,
    text: str,
    action: str | None = None,
) -> None:
    """Allow the current operation on ``key`` for the service's caller, or raise.

    Args:
        key: the key looked up.
        requested: how the request named it (for ``kms:RequestAlias``).
        records: the reads of the lookup (a write transaction's, when there is one).
        text: the key's policy document.
        action: the permission, when the operation needs another one for this key
            (ReEncrypt's destination).

    Raises:
        AccessDeniedException: the key policy denies, or neither it nor a grant allows.
        InvalidGrantTokenException: a grant token of the request names no grant.
    """
    call = current_call()
    if call.rule.scope != KEY:
        return
    caller = service._caller
    action = action or call.rule.action
    arn = service._arn(key.key_id)
    _check_tokens(call, records)
    try:
        policy = parse_policy(text)
    except (MalformedPolicyDocumentException, LimitExceededException):
        _unreadable_policy(service, call, action, arn)
        return
    # Without conditions (AWS's default policy) no condition key is read: the context can wait.
    context = (
        _context(service, call, action, key, requested, records, policy)
        if policy.has_conditions
        else {}
    )
    request = Request(caller.arn, action, arn, context)
    if not call.rule.cross_account and caller.account != service.account_id:
        _deny(request, Decision.IMPLICIT_DENY)
    decision = evaluate(policy, request).decision
    if decision is Decision.EXPLICIT_DENY:
        _deny(request, decision)
    if decision is Decision.ALLOWED:
        call.authorized = True
        return
    if _granted(service, call, action, key, records):
        call.authorized = True
        return
    _deny(request, decision)


def _unreadable_policy(service: LocalCore, call: Call, action: str, arn: str) -> None:
    # A policy stored by an older version that this one cannot evaluate: fail closed, but let
    # the key's own account principal read and replace it, so that the key can be repaired. Only
    # the account principal itself: any principal of the account could otherwise take over a
    # key whose policy denied it everything (found by attack-policy).
    account_principal = f"arn:{service.partition}:iam::{service.account_id}:root"
    if action in ("kms:GetKeyPolicy", "kms:PutKeyPolicy") and (
        service._caller.arn == account_principal
    ):
        call.authorized = True
        return
    raise AccessDeniedException(
        f"User: {service._caller.arn} is not authorized to perform: {action} on resource: {arn} "
        "because its key policy cannot be evaluated; replace it with PutKeyPolicy"
    )


def _check_tokens(call: Call, records: Records) -> None:
    tokens = call.arguments.get("grant_tokens") or ()
    for token in tokens:
        if token not in call.tokens and records.grant_by_token(token) is None:
            raise InvalidGrantTokenException("The grant token in the request is not valid")
        call.tokens.add(token)


def grantee_names(caller: Caller) -> tuple[str, ...]:
    """The grantee principals that cover a caller: itself, its role, its account principal."""
    partition = partition_of(caller.arn)
    names = [caller.arn, f"arn:{partition}:iam::{caller.account}:root"]
    if ":assumed-role/" in caller.arn:
        role = caller.arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
        names.append(f"arn:{partition}:iam::{caller.account}:role/{role}")
    return tuple(names)


def _granted(
    service: LocalCore,
    call: Call,
    action: str,
    key: KeyRecord,
    records: Records,
) -> bool:
    operation = action.partition(":")[2]
    if operation not in _grants.GRANT_OPERATIONS:
        return False  # ScheduleKeyDeletion, PutKeyPolicy, ...: no grant can allow them
    found = records.grants_for(key.key_id, grantee_names(service._caller))
    if not found:
        return False
    encryption_context = _encryption_context(call, action)
    child_operations: tuple[str, ...] = ()
    child_constraints: _grants.Constraints = ()
    if call.method == "create_grant":
        child_operations, child_constraints = _requested_grant(call, key)
    return any(
        _grants.grant_allows(
            grant.operations, grant.constraints, operation, context=encryption_context,
            child_operations=child_operations, child_constraints=child_constraints,
        )
        for grant in found
    )  # fmt: skip


# --- the request's condition keys ----------------------------------------------------------------
def _encryption_context(call: Call, action: str) -> dict[str, str] | None:
    arguments = call.arguments
    if call.method in _WITH_CONTEXT:
        return dict(arguments.get("encryption_context") or {})
    if call.method == "re_encrypt":
        side = "destination" if action == "kms:ReEncryptTo" else "source"
        return dict(arguments.get(f"{side}_encryption_context") or {})
    return None


def _algorithm(call: Call, action: str) -> str | None:
    arguments = call.arguments
    if call.method in ("encrypt", "decrypt"):
        return str(arguments.get("encryption_algorithm") or SYMMETRIC_DEFAULT)
    if call.method == "re_encrypt":
        side = "destination" if action == "kms:ReEncryptTo" else "source"
        return str(arguments.get(f"{side}_encryption_algorithm") or SYMMETRIC_DEFAULT)
    if call.method.startswith("generate_data_key"):
        return SYMMETRIC_DEFAULT  # data keys are always encrypted under a symmetric key
    return None


def _requested_grant(call: Call, key: KeyRecord) -> tuple[tuple[str, ...], _grants.Constraints]:
    arguments = call.arguments
    supported = _grants.operations_for(key.key_spec, key.key_usage)
    operations = _grants.check_operations(arguments.get("operations") or (), supported)
    constraints = _grants.check_constraints(
        arguments.get("constraints"), symmetric=key.key_spec == SYMMETRIC_DEFAULT
    )
    return operations, constraints


def _context(
    service: LocalCore,
    call: Call,
    action: str,
    key: KeyRecord,
    requested: str,
    records: Records,
    policy: Policy,
) -> dict[str, object]:
    arguments = call.arguments
    facts: dict[str, Any] = {
        "encryption_context": _encryption_context(call, action),
        "encryption_algorithm": _algorithm(call, action),
        "key_spec": key.key_spec,
        "key_usage": key.key_usage,
        "key_origin": getattr(key, "origin", "AWS_KMS"),
    }
    if call.method in _NAMED_BY_ALIAS:
        name = requested.split(":", 5)[-1] if requested.startswith("arn:") else requested
        if name.startswith("alias/"):
            facts["request_alias"] = name
    if policy.names_condition_key("kms:resourcealiases"):
        facts["resource_aliases"] = [alias.name for alias in records.aliases(key.key_id)]
    if policy.names_condition_key("aws:resourcetag/"):
        facts["resource_tags"] = {tag.tag_key: tag.tag_value for tag in records.tags(key.key_id)}
    if call.method == "tag_resource":
        facts["request_tags"] = {
            str(tag.get("TagKey")): str(tag.get("TagValue")) for tag in arguments["tags"]
        }  # checked by TagResource before the key is looked up
    if call.method == "untag_resource":
        facts["tag_keys"] = [str(name) for name in arguments["tag_keys"]]
    if call.method == "create_grant":
        operations, constraints = _requested_grant(call, key)
        grantee = arguments.get("grantee_principal")
        retiring = arguments.get("retiring_principal")
        facts["grant"] = GrantFacts(
            operations=operations,
            grantee_principal=_grants.check_principal(
                "granteePrincipal", grantee, partition=service.partition
            )
            if grantee is not None
            else None,
            retiring_principal=_grants.check_principal(
                "retiringPrincipal", retiring, partition=service.partition
            )
            if retiring is not None
            else None,
            constraint_type=_grants.constraint_type(constraints),
            constraint_context=_grants.constraint_context(constraints),
        )
    parameters = {
        key: str(arguments[argument])
        for argument, key in _PARAMETER_KEYS.items()
        if isinstance(arguments.get(argument), str)
    }
    if parameters:
        facts["parameters"] = parameters
    if "bypass_policy_lockout_safety_check" in arguments:
        facts["bypass_lockout_check"] = bool(arguments["bypass_policy_lockout_safety_check"])
    caller = service._caller
    return request_context(
        caller=caller.arn,
        region=service.region,
        source_ip=caller.source_ip,
        secure_transport=caller.secure_transport,
        **facts,
    )


# --- checks other operations make ---------------------------------------------------------------
def lockout_check(service: LocalCore, policy: str, key: KeyRecord, *, bypass: bool) -> None:
    """KMS's policy lockout safety check: the new policy must let the caller change it again.

    Raises:
        MalformedPolicyDocumentException: it would not (and ``bypass`` is false).
    """
    if bypass:
        return
    call = current_call()
    caller = service._caller
    parsed = parse_policy(policy)
    arn = service._arn(key.key_id)
    put = Call("put_key_policy", rule_for("put_key_policy"), dict(call.arguments))
    context = _context(service, put, "kms:PutKeyPolicy", key, key.key_id, service._store.reader,
                       parsed)  # fmt: skip
    request = Request(caller.arn, "kms:PutKeyPolicy", arn, context)
    if evaluate(parsed, request).decision is not Decision.ALLOWED:
        raise MalformedPolicyDocumentException(_LOCKOUT)


def authorize_retire(service: LocalCore, grant: GrantRecord) -> None:
    """RetireGrant: the grant's retiring principal, its grantee if the grant allows RetireGrant,
    or the account that issued it (grant-manage, "Retiring and revoking grants"), which, as the
    account principal does everywhere here, stands for every principal of that account; key
    policies have no say.

    Raises:
        AccessDeniedException: the caller is none of these.
    """
    from envelope.keys.policy import principal_covers

    call = current_call()
    caller = service._caller
    allowed = (
        (grant.retiring is not None and principal_covers(grant.retiring, caller.arn))
        or ("RetireGrant" in grant.operations and grant.grantee in grantee_names(caller))
        or account_of(grant.issuing_account) == caller.account
    )
    if not allowed:
        request = Request(caller.arn, "kms:RetireGrant", service._arn(grant.key_id), {})
        _deny(request, Decision.IMPLICIT_DENY)
    call.authorized = True
