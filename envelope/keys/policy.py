"""Key policies: the AWS default policy and the document checks KMS makes on CreateKey."""

from __future__ import annotations

import contextlib
import json

from envelope.errors import LimitExceededException, MalformedPolicyDocumentException

MAX_POLICY_BYTES = 32768
"""KMS: a key policy document is at most 32 KB."""


def default_policy(account_id: str, *, partition: str = "aws") -> str:
    """AWS KMS's default key policy: the account's root principal may do everything."""
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
    """A key policy document as KMS accepts it: JSON, an object with statements, at most 32 KB.

    Raises:
        LimitExceededException: the document is over 32 KB.
        MalformedPolicyDocumentException: it is not a JSON object with a ``Statement``.
    """
    if not isinstance(policy, str) or not policy:
        raise MalformedPolicyDocumentException("the key policy must be a non-empty JSON string")
    try:
        size = len(policy.encode("utf-8"))
    except UnicodeEncodeError:
        raise MalformedPolicyDocumentException("the key policy is not valid UTF-8") from None
    if size > MAX_POLICY_BYTES:
        raise LimitExceededException(
            f"the key policy is {size} bytes; a key policy is at most {MAX_POLICY_BYTES} bytes"
        )
    document: object = _INVALID
    # RecursionError: nesting deeper than Python's stack. Raised below, unchained.
    with contextlib.suppress(ValueError, RecursionError):
        document = json.loads(policy, parse_constant=_not_json)
    if document is _INVALID:
        raise MalformedPolicyDocumentException("the key policy is not valid JSON")
    if not isinstance(document, dict) or not isinstance(document.get("Statement"), (list, dict)):
        raise MalformedPolicyDocumentException(
            "the key policy must be a JSON object with a Statement"
        )
    return policy
