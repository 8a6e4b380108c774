"""Condition operators beyond the documentation's examples: wildcards, IfExists, Null, set
qualifiers on absent keys, policy variables, ARN and IP operators, and hostile input."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envelope.errors import MalformedPolicyDocumentException
from envelope.keys.conditions import condition_holds, glob_match, parse_condition_block
from envelope.keys.context import request_context
from envelope.keys.policy import Decision, Request, evaluate, parse_policy


def holds(block: dict[str, Any], context: dict[str, object], *, deny: bool = False) -> bool:
    return all(
        condition_holds(c, context, effect_is_deny=deny)
        for c in parse_condition_block(block, "test")
    )


def _regex(pattern: str) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL)


@settings(max_examples=500, deadline=None)
@given(pattern=st.text("ab*?", max_size=8), value=st.text("ab", max_size=10))
def test_wildcards_match_as_the_iam_reference_says(pattern: str, value: str) -> None:
    assert glob_match(pattern, value) == bool(_regex(pattern).fullmatch(value))


def test_wildcards_do_not_backtrack_exponentially() -> None:
    """A caller's long value against a many-star pattern: a backtracking regex would not finish
    (the matcher takes at most len(pattern) x len(value) steps)."""
    assert not glob_match("*a" * 40 + "*b", "a" * 20000)
    assert holds({"StringLike": {"kms:EncryptionContext:k": "*a" * 40 + "*b"}},
                 {"kms:encryptioncontext:k": "a" * 20000 + "b"})  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(pattern=st.text("aB*?", max_size=14), value=st.text("abB", max_size=24),
       ignore_case=st.booleans())  # fmt: skip
def test_wildcards_match_as_a_regular_expression_would(
    pattern: str, value: str, ignore_case: bool
) -> None:
    expected = _regex(pattern.casefold() if ignore_case else pattern).fullmatch(
        value.casefold() if ignore_case else value
    )
    assert glob_match(pattern, value, ignore_case=ignore_case) == bool(expected)


class _Watched(str):
    """A request value that counts the characters Python code reads from it one by one."""

    reads = 0

    def __getitem__(self, index: Any) -> Any:
        _Watched.reads += 1
        return super().__getitem__(index)


@pytest.mark.parametrize("pattern", ["*" + "x" * 400 + "*", "*a*" + "x" * 400 + "*b",
                                     "x?" * 200 + "*" + "y" * 100])  # fmt: skip
def test_a_long_value_is_not_read_one_step_at_a_time(pattern: str) -> None:
    """A 400-character piece against a 200 KB value (a caller's encryption context): the old
    matcher read the value once per pattern position and value position, 23 s on the shared
    machine, for every statement that named the key; now the pieces are found by ``str.find``
    (found by attack-policy)."""
    _Watched.reads = 0
    value = _Watched(("x" * 399 + "y") * 500)
    assert not glob_match(pattern, value)
    assert _Watched.reads <= 2  # a slice or two for '?' pieces, never a scan in Python
    assert glob_match(pattern, "a" + "x" * 200 + "xx" * 200 + "x" * 400 + "y" * 100 + "b") == (
        pattern.startswith("*")
    )


def test_if_exists() -> None:
    block = {"StringEqualsIfExists": {"kms:RequestAlias": "alias/a"}}
    assert holds(block, {})
    assert holds(block, {"kms:requestalias": "alias/a"})
    assert not holds(block, {"kms:requestalias": "alias/b"})
    assert holds({"StringNotEqualsIfExists": {"kms:RequestAlias": "alias/a"}}, {})


def test_absent_keys() -> None:
    assert not holds({"IpAddress": {"aws:SourceIp": "1.2.3.4"}}, {})
    assert holds({"NotIpAddress": {"aws:SourceIp": "1.2.3.4"}}, {})
    assert holds({"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": "a"}}, {})
    assert not holds({"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "a"}}, {})
    empty: dict[str, object] = {"kms:encryptioncontextkeys": ()}
    assert holds({"Null": {"kms:EncryptionContextKeys": "true"}}, empty)
    assert not holds({"Null": {"kms:EncryptionContextKeys": "true"}},
                     {"kms:encryptioncontextkeys": ("a",)})  # fmt: skip


def test_negated_operators_with_several_values_match_none() -> None:
    block = {"StringNotEquals": {"aws:PrincipalAccount": ["111111111111", "222222222222"]}}
    assert not holds(block, {"aws:principalaccount": "111111111111"})
    assert holds(block, {"aws:principalaccount": "333333333333"})
    block = {"ForAllValues:StringNotLike": {"kms:EncryptionContextKeys": ["aws*", "x?"]}}
    assert holds(block, {"kms:encryptioncontextkeys": ("tenant", "xyz")})
    assert not holds(block, {"kms:encryptioncontextkeys": ("tenant", "xy")})


def test_keys_that_differ_only_in_case_never_widen_access() -> None:
    """{"tenant": "a", "Tenant": "b"} holds two values for kms:EncryptionContext:tenant: an
    Allow must hold for both, a Deny for one."""
    context: dict[str, object] = {"kms:encryptioncontext:tenant": ("a", "b")}
    block = {"StringEquals": {"kms:EncryptionContext:tenant": "a"}}
    assert not holds(block, context, deny=False)
    assert holds(block, context, deny=True)


def test_case_variants_of_a_key_are_all_values_of_one_condition_key() -> None:
    """Every case variant of a context key is one value of its condition key, in order; a
    caller can send 65,536 variants of a 16-letter key (gathering them was quadratic)."""
    import itertools

    variants = ["".join(c) for c in itertools.product(*[("k", "K")] * 16)]
    context = request_context(caller="arn:aws:iam::111122223333:user/x", region="us-east-1",
                              encryption_context={v: str(i) for i, v in enumerate(variants)})
    assert context["kms:encryptioncontext:" + "k" * 16] == tuple(map(str, range(len(variants))))
    assert len(context["kms:encryptioncontextkeys"]) == len(variants)  # type: ignore[arg-type]
    block = {"StringEquals": {"kms:EncryptionContext:" + "k" * 16: "0"}}
    assert holds(block, context, deny=True) and not holds(block, context)
    single = request_context(caller="arn:aws:iam::111122223333:user/x", region="us-east-1",
                             encryption_context={"Tenant": "a"})  # fmt: skip
    assert single["kms:encryptioncontext:tenant"] == "a"


def test_policy_variables() -> None:
    context: dict[str, object] = {"aws:username": "bob", "kms:encryptioncontext:user": "bob"}
    assert holds({"StringEquals": {"kms:EncryptionContext:user": "${aws:username}"}}, context)
    assert holds({"StringLike": {"kms:EncryptionContext:user": "${aws:username}*"}}, context)
    # Without a value: no positive match, every negated one (IAM, "Policy variables with no
    # value"); a default value fills in.
    alone: dict[str, object] = {"kms:encryptioncontext:user": "bob"}
    assert not holds({"StringEquals": {"kms:EncryptionContext:user": "${aws:username}"}}, alone)
    assert holds({"StringNotEquals": {"kms:EncryptionContext:user": "${aws:username}"}}, alone)
    assert holds({"StringEquals": {"kms:EncryptionContext:user": "${aws:username, 'bob'}"}},
                 alone)  # fmt: skip
    literal: dict[str, object] = {"kms:encryptioncontext:user": "a*b"}
    assert holds({"StringEquals": {"kms:EncryptionContext:user": "a${*}b"}}, literal)
    assert not holds({"StringEquals": {"kms:EncryptionContext:user": "a${*}b"}},
                     {"kms:encryptioncontext:user": "axb"})  # fmt: skip


@pytest.mark.parametrize("version", ["2008-10-17", None])
def test_policy_variables_are_literal_text_before_version_2012(version: str | None) -> None:
    """IAM (reference_policies_variables): without ``"Version": "2012-10-17"`` a ``${...}`` is
    literal text. Substituting it anyway let a policy pass here that AWS refuses, and made a Deny
    narrower than on AWS (found by attack-policy)."""
    document: dict[str, Any] = {"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:EncryptionContext:owner": "${aws:username}"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"StringNotLike": {"kms:EncryptionContext:team": "${aws:username}-*"}}},
    ]}  # fmt: skip
    if version:
        document["Version"] = version
    alice = "arn:aws:iam::111122223333:user/alice"

    def decide(context: dict[str, str], text: str) -> Decision:
        request = Request(alice, "kms:Encrypt", "arn:aws:kms:us-east-1:111122223333:key/k",
                          request_context(caller=alice, region="us-east-1",
                                          encryption_context=context))  # fmt: skip
        return evaluate(parse_policy(text), request).decision

    text = json.dumps(document)
    mine = {"owner": "alice", "team": "alice-x"}
    literal = {"owner": "${aws:username}", "team": "${aws:username}-x"}
    assert decide(mine, text) is Decision.EXPLICIT_DENY
    assert decide(literal, text) is Decision.ALLOWED
    document["Version"] = "2012-10-17"
    assert decide(mine, json.dumps(document)) is Decision.ALLOWED
    assert decide(literal, json.dumps(document)) is Decision.EXPLICIT_DENY
    # Literal text is not checked as a variable: AWS takes any string there.
    document.pop("Version")
    document["Statement"][0]["Condition"]["StringEquals"]["kms:EncryptionContext:owner"] = "${x}"
    parse_policy(json.dumps(document))


def test_arn_and_ip_operators() -> None:
    arn: dict[str, object] = {"aws:principalarn": "arn:aws:iam::111122223333:user/ops/alice"}
    assert holds({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/ops/*"}}, arn)
    assert not holds({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}, arn)
    assert holds({"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}, arn)
    v6: dict[str, object] = {"aws:sourceip": "::1"}
    assert holds({"IpAddress": {"aws:SourceIp": "::1/128"}}, v6)
    assert not holds({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, v6)  # families differ
    assert holds({"IpAddress": {"aws:SourceIp": "10.0.0.1"}}, {"aws:sourceip": "10.0.0.1"})
    assert holds({"Bool": {"aws:SecureTransport": "TRUE"}}, {"aws:securetransport": "true"})


def test_an_ipv4_mapped_address_is_its_ipv4_address() -> None:
    """A dual-stack socket reports an IPv4 client as ``::ffff:a.b.c.d``. Compared as IPv6, an
    IPv4 range in a Deny never covered it, and the Deny did not apply (found by attack-policy)."""
    mapped: dict[str, object] = {"aws:sourceip": "::ffff:127.0.0.1"}
    assert holds({"IpAddress": {"aws:SourceIp": "127.0.0.1/32"}}, mapped, deny=True)
    assert not holds({"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}}, mapped, deny=True)
    assert not holds({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, mapped)
    assert not holds({"IpAddress": {"aws:SourceIp": "::/0"}}, mapped)  # it is IPv4 now
    assert holds({"IpAddress": {"aws:SourceIp": "::1/128"}}, {"aws:sourceip": "::1"})
    # A range written in the mapped form still names the same clients.
    for address in ("::ffff:10.1.2.3", "10.1.2.3"):
        assert holds({"IpAddress": {"aws:SourceIp": "::ffff:10.0.0.0/104"}},
                     {"aws:sourceip": address}, deny=True)  # fmt: skip
    assert not holds({"IpAddress": {"aws:SourceIp": "::ffff:10.0.0.0/104"}},
                     {"aws:sourceip": "11.0.0.1"})  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(address=st.ip_addresses(v=4), network=st.ip_addresses(v=4), prefix=st.integers(0, 32),
       negated=st.booleans(), deny=st.booleans())  # fmt: skip
def test_an_ipv4_client_is_judged_alike_however_its_address_is_written(
    address: Any, network: Any, prefix: int, negated: bool, deny: bool
) -> None:
    block = {"NotIpAddress" if negated else "IpAddress": {"aws:SourceIp": f"{network}/{prefix}"}}
    plain = holds(block, {"aws:sourceip": str(address)}, deny=deny)
    assert holds(block, {"aws:sourceip": f"::ffff:{address}"}, deny=deny) == plain
    mapped_range = {next(iter(block)): {"aws:SourceIp": f"::ffff:{network}/{prefix + 96}"}}
    assert holds(mapped_range, {"aws:sourceip": str(address)}, deny=deny) == plain


@pytest.mark.parametrize(
    "block",
    [{"IpAddress": {"aws:SourceIp": "not-an-ip"}}, {"IpAddress": {"aws:Username": "x"}},
     {"Bool": {"aws:SecureTransport": "yes"}}, {"StringEquals": {"aws:SourceIp": "1.2.3.4"}},
     {"ForAnyValue:Null": {"kms:EncryptionContextKeys": "true"}},
     {"NullIfExists": {"kms:RequestAlias": "true"}}, {"StringEquals": {}}, {},
     {"StringEquals": {"kms:RequestAlias": []}}, {"StringEquals": {"kms:RequestAlias": {}}},
     {"StringEquals": {"kms:EncryptionContext:": "x"}},
     {"StringEquals": {"kms:EncryptionContext:a": "${aws:NoSuchKey}"}},
     {"StringEquals": {"kms:EncryptionContext:a": "${kms:EncryptionContextKeys}"}},
     {"ArnLike": {"aws:PrincipalArn": "not:an:arn"}}],
)  # fmt: skip
def test_conditions_refused_when_stored(block: dict[str, Any]) -> None:
    with pytest.raises(MalformedPolicyDocumentException):
        parse_condition_block(block, "test")


# --- any document: a parsed policy or one clear refusal, and evaluating it never fails ----------
_NAMES = ["Version", "Statement", "Sid", "Effect", "Principal", "NotPrincipal", "Action",
          "NotAction", "Resource", "NotResource", "Condition", "AWS", "Service", "Allow", "Deny",
          "StringEquals", "ForAllValues:StringLike", "IpAddress", "Null", "Bool",
          "kms:EncryptionContext:a", "aws:SourceIp", "kms:EncryptionContextKeys", "kms:*", "*",
          "arn:aws:iam::111122223333:root", "2012-10-17", "${aws:username}",
          "10.0.0.0/8"]  # fmt: skip
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(_NAMES)
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(_NAMES) | st.text(max_size=4), inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(document=_JSON)
def test_any_document_is_a_policy_or_one_refusal(document: object) -> None:
    from envelope.errors import LimitExceededException
    from envelope.keys.context import request_context
    from envelope.keys.policy import Request, evaluate, parse_policy

    text = json.dumps(document)
    try:
        parsed = parse_policy(text)
    except (MalformedPolicyDocumentException, LimitExceededException):
        return
    caller = "arn:aws:iam::111122223333:user/u"
    context = request_context(caller=caller, region="us-east-1", source_ip="10.1.1.1",
                              encryption_context={"a": "b", "A": "c"})  # fmt: skip
    evaluate(parsed, Request(caller, "kms:Encrypt", "arn:aws:kms:us-east-1:1:key/k", context))


def test_principal_arn_of_a_role_session_is_its_role() -> None:
    """IAM (reference_policies_condition-keys, aws:PrincipalArn): a role session's request has
    its role's ARN, never the session's. With the session ARN, a Deny on the role's ARN let the
    session through, and an Allow on session ARNs admitted what AWS refuses (found by
    attack-policy)."""
    session = "arn:aws:sts::111122223333:assumed-role/Admin/alice"
    context = request_context(caller=session, region="us-east-1")
    assert context["aws:principalarn"] == "arn:aws:iam::111122223333:role/Admin"
    assert holds({"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/Admin"}},
                 context, deny=True)  # fmt: skip
    assert not holds({"ArnLike": {"aws:PrincipalArn": "arn:aws:sts::*:assumed-role/*"}}, context)
    user = "arn:aws:iam::111122223333:user/ops/bob"
    assert request_context(caller=user, region="us-east-1")["aws:principalarn"] == user


def test_a_caller_that_only_looks_like_a_role_session_is_taken_as_given() -> None:
    """A caller text with ':assumed-role/' but no ARN head (found by the policy_evaluation fuzz
    target: an IndexError after parsing) is its own aws:PrincipalArn, never an exception."""
    for caller in ("0a3456789012:assumed-role/reader/s1", ":assumed-role/x", "arn:assumed-role/x"):
        assert request_context(caller=caller, region="us-east-1")["aws:principalarn"] == caller
