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
