"""The key policy evaluator on the AWS documentation's own examples, one case per row.

Each case names the page (and section) its policy statement comes from. Statements are the
documentation's, with two kinds of adaptation said in the case's note: an IAM-policy example (no
Principal) gets ``"Principal": {"AWS": "arn:aws:iam::111122223333:root"}`` so that it can stand in a
key policy, and a Deny example gets the default policy's Allow beside it so that the Deny has
something to override. The expected decisions are AWS's, except where the project's one rule
about the account principal applies (it stands for every principal of its account, since there is
no IAM here to delegate to); those cases say so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envelope.errors import LimitExceededException, MalformedPolicyDocumentException
from envelope.keys.context import GrantFacts, request_context
from envelope.keys.policy import (
    Decision,
    Request,
    default_policy,
    denied_message,
    evaluate,
    parse_policy,
)

KMS = "https://docs.aws.amazon.com/kms/latest/developerguide/"
IAM = "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
ACCOUNT = "111122223333"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
KEY = f"arn:aws:kms:us-west-2:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EXAMPLE_USER = f"arn:aws:iam::{ACCOUNT}:user/ExampleUser"
ADMIN_USER = f"arn:aws:iam::{ACCOUNT}:user/KMSAdminUser"
EXAMPLE_ROLE_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/ExampleRole/session-1"
APP_ROLE_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/RoleForExampleApp/app"
OTHER_ACCOUNT_USER = "arn:aws:iam::444455556666:user/Alice"
STRANGER = "arn:aws:iam::999999999999:user/Mallory"

ALLOW_ACCOUNT = {
    "Sid": "Enable IAM User Permissions",
    "Effect": "Allow",
    "Principal": {"AWS": ROOT},
    "Action": "kms:*",
    "Resource": "*",
}
ADMINISTRATORS = {  # key-policy-default, "Allows key administrators to administer the KMS key"
    "Sid": "Allow access for Key Administrators",
    "Effect": "Allow",
    "Principal": {"AWS": [ADMIN_USER, f"arn:aws:iam::{ACCOUNT}:role/KMSAdminRole"]},
    "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*",
               "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*",
               "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
               "kms:CancelKeyDeletion"],
    "Resource": "*",
}  # fmt: skip
KEY_USERS = [  # key-policy-default, "Allows key users to use the KMS key"
    {
        "Sid": "Allow use of the key",
        "Effect": "Allow",
        "Principal": {"AWS": [EXAMPLE_USER, f"arn:aws:iam::{ACCOUNT}:role/ExampleRole",
                              "arn:aws:iam::444455556666:root"]},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                   "kms:DescribeKey"],
        "Resource": "*",
    },
    {
        "Sid": "Allow attachment of persistent resources",
        "Effect": "Allow",
        "Principal": {"AWS": [EXAMPLE_USER, f"arn:aws:iam::{ACCOUNT}:role/ExampleRole",
                              "arn:aws:iam::444455556666:root"]},
        "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
        "Resource": "*",
        "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
    },
]  # fmt: skip


APP_ROLE = f"arn:aws:iam::{ACCOUNT}:role/RoleForExampleApp"


def app_role(
    action: str | list[str], condition: dict[str, Any], effect: str = "Allow"
) -> dict[str, Any]:
    principal = APP_ROLE
    return {"Effect": effect, "Principal": {"AWS": principal}, "Action": action,
            "Resource": "*", "Condition": condition}  # fmt: skip


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    statements: list[dict[str, Any]]
    action: str
    expected: Decision
    caller: str = EXAMPLE_USER
    facts: dict[str, Any] = field(default_factory=dict)
    note: str = ""


ALLOWED, EXPLICIT, IMPLICIT = Decision.ALLOWED, Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY
DEFAULT = KMS + "key-policy-default.html#key-policy-default-allow-root-enable-iam"
ADMINS = KMS + "key-policy-default.html#key-policy-default-allow-administrators"
USERS = KMS + "key-policy-default.html#key-policy-default-allow-users"
OVERVIEW = KMS + "key-policy-overview.html"
COND = KMS + "conditions-kms.html#conditions-kms-"
EC = COND + "encryption-context"
EC_MANY = KMS + "conditions-kms.html#conditions-kms-encryption-context-many"
EC_CASE = KMS + "conditions-kms.html#conditions-kms-encryption-context-case"
EC_VARS = KMS + "conditions-kms.html#conditions-kms-encryption-context-variables"
IP = IAM + "reference_policies_elements_condition_operators.html#Conditions_IPAddress"
NOT_PRINCIPAL = IAM + "reference_policies_elements_notprincipal.html"
PRINCIPALS = IAM + "reference_policies_elements_principal.html"
DEPLOYED = "deviation: the account principal stands for every principal of its account"

SYMMETRIC = {"key_spec": "SYMMETRIC_DEFAULT", "key_usage": "ENCRYPT_DECRYPT",
             "key_origin": "AWS_KMS"}  # fmt: skip
APP = {"encryption_context": {"AppName": "ExampleApp"}}
ALICE = "arn:aws:iam::712816755609:user/alice"


def ec(**pairs: str) -> dict[str, Any]:
    return {"encryption_context": dict(pairs)}


def grant(operations: list[str], **extra: Any) -> dict[str, Any]:
    return {"grant": GrantFacts(operations=tuple(operations), **extra)}


KEY_SPEC_STATEMENT = {  # key-policy-overview: the example policy with one statement
    "Sid": "Describe the policy statement",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/Alice"},
    "Action": "kms:DescribeKey",
    "Resource": "*",
    "Condition": {"StringEquals": {"kms:KeySpec": "SYMMETRIC_DEFAULT"}},
}
BYPASS_DENY = {  # conditions-kms, kms:BypassPolicyLockoutSafetyCheck (IAM example + Principal)
    "Effect": "Deny", "Principal": {"AWS": ROOT}, "Action": ["kms:CreateKey", "kms:PutKeyPolicy"],
    "Resource": "*", "Condition": {"Bool": {"kms:BypassPolicyLockoutSafetyCheck": True}},
}  # fmt: skip
BYPASS_NULL = {  # conditions-kms, kms:BypassPolicyLockoutSafetyCheck (key policy example)
    "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:PutKeyPolicy", "Resource": "*",
    "Condition": {"Null": {"kms:BypassPolicyLockoutSafetyCheck": True}},
}  # fmt: skip
CALLER_ACCOUNT = {  # conditions-kms, kms:CallerAccount (the EBS AWS managed key's statement)
    "Sid": "Allow access through EBS for all principals in the account that are authorized",
    "Effect": "Allow", "Principal": {"AWS": "*"},
    "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT,
                                   "kms:ViaService": "ec2.us-west-2.amazonaws.com"}},
    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
               "kms:CreateGrant", "kms:DescribeKey"],
    "Resource": "*",
}  # fmt: skip
ONE_ALGORITHM = {  # conditions-kms, kms:EncryptionAlgorithm, "EncryptionAlgorithm parameter"
    "Sid": "Allow only one encryption algorithm with this asymmetric KMS key",
    "Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/ExampleRole"},
    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*"], "Resource": "*",
    "Condition": {"StringNotEquals": {"kms:EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}},
}  # fmt: skip
ONLY_SYMMETRIC = {  # conditions-kms, kms:EncryptionAlgorithm (IAM example + Principal)
    "Sid": "AllowOnlySymmetricAlgorithm", "Effect": "Deny", "Principal": {"AWS": ROOT},
    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
    "Resource": f"arn:aws:kms:us-west-2:{ACCOUNT}:key/*",
    "Condition": {"StringNotEquals": {"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}},
}  # fmt: skip
APP_ONLY = {  # conditions-kms, kms:EncryptionContext: one pair and no other
    "Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "kms:GenerateDataKey",
    "Resource": "*",
    "Condition": {"StringEquals": {"kms:EncryptionContext:AppName": "ExampleApp"},
                  "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["AppName"]}},
}  # fmt: skip
IT_AND_ALPHA_ONLY = {  # conditions-kms, "Using multiple encryption context pairs"
    "Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "kms:GenerateDataKey",
    "Resource": "*",
    "Condition": {"StringEquals": {"kms:EncryptionContext:Department": "IT",
                                   "kms:EncryptionContext:Project": "Alpha"},
                  "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Department",
                                                                              "Project"]}},
}  # fmt: skip
USERNAME_CONTEXT = {  # conditions-kms, "Using variables" (the role principal made the account's)
    "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": ["kms:Decrypt", "kms:Encrypt"],
    "Resource": "*",
    "Condition": {"StringEquals": {"kms:EncryptionContext:user": "${aws:username}"}},
}  # fmt: skip


def create_grant_by(condition: dict[str, Any]) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": EXAMPLE_USER}, "Action": "kms:CreateGrant",
            "Resource": "*", "Condition": condition}  # fmt: skip


RESOURCE_ALIASES_ANY = {  # conditions-kms, kms:ResourceAliases (IAM example + Principal)
    "Sid": "AliasBasedIAMPolicy", "Effect": "Allow", "Principal": {"AWS": ROOT},
    "Action": "kms:GenerateDataKey",
    "Resource": ["arn:aws:kms:*:111122223333:key/*", "arn:aws:kms:*:444455556666:key/*"],
    "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/finance-key"}},
}  # fmt: skip
RESOURCE_ALIASES_ALL = {  # conditions-kms, kms:ResourceAliases, second example (+ Principal)
    "Sid": "AliasBasedIAMPolicy", "Effect": "Allow", "Principal": {"AWS": ROOT},
    "Action": ["kms:EnableKey", "kms:DisableKey"], "Resource": "arn:aws:kms:*:111122223333:key/*",
    "Condition": {"ForAllValues:StringLike": {"kms:ResourceAliases": ["alias/*Test*"]},
                  "ForAnyValue:StringLike": {"kms:ResourceAliases": ["alias/*Test*"]}},
}  # fmt: skip
VIA_SERVICE = {  # conditions-kms, kms:ViaService
    "Effect": "Allow", "Principal": {"AWS": EXAMPLE_USER},
    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
               "kms:CreateGrant", "kms:ListGrants", "kms:DescribeKey"],
    "Resource": "*",
    "Condition": {"StringEquals": {"kms:ViaService": ["ec2.us-west-2.amazonaws.com",
                                                      "rds.us-west-2.amazonaws.com"]}},
}  # fmt: skip
SOURCE_IP = {  # IAM condition operators, IpAddress (the principal made the account's)
    "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*",
    "Condition": {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}},
}  # fmt: skip
NOT_BOB = {  # IAM NotPrincipal with Deny: everyone but Bob (and his account principal) denied
    "Effect": "Deny",
    "NotPrincipal": {"AWS": ["arn:aws:iam::444455556666:user/Bob",
                             "arn:aws:iam::444455556666:root"]},
    "Action": "kms:*", "Resource": "*",
}  # fmt: skip
ALLOW_444 = {"Effect": "Allow", "Principal": {"AWS": "444455556666"}, "Action": "kms:*",
             "Resource": "*"}  # fmt: skip

CASES = [
    # --- the default key policy ----------------------------------------------------------------
    Case("default-account-user", DEFAULT, [ALLOW_ACCOUNT], "kms:Encrypt", ALLOWED, note=DEPLOYED),
    Case("default-account-principal", DEFAULT, [ALLOW_ACCOUNT], "kms:PutKeyPolicy", ALLOWED,
         caller=ROOT),
    Case("default-other-account", DEFAULT, [ALLOW_ACCOUNT], "kms:Decrypt", IMPLICIT,
         caller=OTHER_ACCOUNT_USER),
    Case("default-policy-evaluation-alice", KMS + "policy-evaluation.html#example-no-iam",
         [ALLOW_ACCOUNT], "kms:Decrypt", ALLOWED, caller=f"arn:aws:iam::{ACCOUNT}:user/Alice",
         note=DEPLOYED + " (AWS denies Alice: no IAM policy allows her)"),
    # --- key administrators and key users -------------------------------------------------------
    Case("admin-put-key-policy", ADMINS, [ADMINISTRATORS], "kms:PutKeyPolicy", ALLOWED,
         caller=ADMIN_USER),
    Case("admin-schedule-deletion", ADMINS, [ADMINISTRATORS], "kms:ScheduleKeyDeletion", ALLOWED,
         caller=ADMIN_USER),
    Case("admin-cannot-encrypt", ADMINS, [ADMINISTRATORS], "kms:Encrypt", IMPLICIT,
         caller=ADMIN_USER),
    Case("admin-role-session-lists-grants", ADMINS, [ADMINISTRATORS], "kms:ListGrants", ALLOWED,
         caller=f"arn:aws:sts::{ACCOUNT}:assumed-role/KMSAdminRole/ops"),
    Case("user-encrypts", USERS, KEY_USERS, "kms:Encrypt", ALLOWED),
    Case("user-reencrypt-from", USERS, KEY_USERS, "kms:ReEncryptFrom", ALLOWED),
    Case("user-reencrypt-to", USERS, KEY_USERS, "kms:ReEncryptTo", ALLOWED),
    Case("user-data-key-without-plaintext", USERS, KEY_USERS,
         "kms:GenerateDataKeyWithoutPlaintext", ALLOWED),
    Case("user-cannot-schedule-deletion", USERS, KEY_USERS, "kms:ScheduleKeyDeletion", IMPLICIT),
    Case("user-role-session-decrypts", USERS, KEY_USERS, "kms:Decrypt", ALLOWED,
         caller=EXAMPLE_ROLE_SESSION),
    Case("user-external-account-decrypts", USERS, KEY_USERS, "kms:Decrypt", ALLOWED,
         caller=OTHER_ACCOUNT_USER, note=DEPLOYED),
    Case("user-grant-only-for-aws-resources", USERS, KEY_USERS, "kms:CreateGrant", IMPLICIT,
         facts=grant(["Decrypt"]),
         note="kms:GrantIsForAWSResource is never present: no AWS service calls envelope"),
    # --- key policy format ---------------------------------------------------------------------
    Case("overview-keyspec-symmetric", OVERVIEW, [KEY_SPEC_STATEMENT], "kms:DescribeKey",
         ALLOWED, caller=f"arn:aws:iam::{ACCOUNT}:user/Alice", facts=SYMMETRIC),
    Case("overview-keyspec-rsa", OVERVIEW, [KEY_SPEC_STATEMENT], "kms:DescribeKey", IMPLICIT,
         caller=f"arn:aws:iam::{ACCOUNT}:user/Alice",
         facts={"key_spec": "RSA_2048", "key_usage": "ENCRYPT_DECRYPT"}),
    Case("overview-keyspec-other-action", OVERVIEW, [KEY_SPEC_STATEMENT], "kms:Encrypt",
         IMPLICIT, caller=f"arn:aws:iam::{ACCOUNT}:user/Alice", facts=SYMMETRIC),
    Case("overview-statement-without-resource", OVERVIEW + "#key-policy-elements",
         [{k: v for k, v in ALLOW_ACCOUNT.items() if k != "Resource"}], "kms:Encrypt", IMPLICIT),
    Case("overview-sid-with-spaces", OVERVIEW + "#key-policy-format",
         [{**ALLOW_ACCOUNT, "Sid": "Sids in key policies may hold spaces"}], "kms:Encrypt",
         ALLOWED),
    # --- kms:BypassPolicyLockoutSafetyCheck -----------------------------------------------------
    Case("bypass-deny-when-true", COND + "bypass-policy-lockout-safety-check",
         [ALLOW_ACCOUNT, BYPASS_DENY], "kms:PutKeyPolicy", EXPLICIT,
         facts={"bypass_lockout_check": True}),
    Case("bypass-deny-when-false", COND + "bypass-policy-lockout-safety-check",
         [ALLOW_ACCOUNT, BYPASS_DENY], "kms:PutKeyPolicy", ALLOWED,
         facts={"bypass_lockout_check": False}),
    Case("bypass-null-parameter-absent", COND + "bypass-policy-lockout-safety-check",
         [BYPASS_NULL], "kms:PutKeyPolicy", ALLOWED),
    Case("bypass-null-parameter-given", COND + "bypass-policy-lockout-safety-check",
         [BYPASS_NULL], "kms:PutKeyPolicy", IMPLICIT, facts={"bypass_lockout_check": False}),
    # --- kms:CallerAccount and kms:ViaService ---------------------------------------------------
    Case("caller-account-needs-via-service", COND + "caller-account", [CALLER_ACCOUNT],
         "kms:Encrypt", IMPLICIT, note="kms:ViaService is never present: no AWS service calls"),
    Case("via-service-direct-call", COND + "via-service", [VIA_SERVICE], "kms:Decrypt", IMPLICIT),
    # --- kms:EncryptionAlgorithm ----------------------------------------------------------------
    Case("algorithm-deny-sha1", COND + "encryption-algorithm", [ALLOW_ACCOUNT, ONE_ALGORITHM],
         "kms:Encrypt", EXPLICIT, caller=EXAMPLE_ROLE_SESSION,
         facts={"encryption_algorithm": "RSAES_OAEP_SHA_1"}),
    Case("algorithm-allow-sha256", COND + "encryption-algorithm", [ALLOW_ACCOUNT, ONE_ALGORITHM],
         "kms:Decrypt", ALLOWED, caller=EXAMPLE_ROLE_SESSION,
         facts={"encryption_algorithm": "RSAES_OAEP_SHA_256"}),
    Case("algorithm-other-principal-spared", COND + "encryption-algorithm",
         [ALLOW_ACCOUNT, ONE_ALGORITHM], "kms:Encrypt", ALLOWED,
         facts={"encryption_algorithm": "RSAES_OAEP_SHA_1"}),
    Case("algorithm-only-symmetric-data-key", COND + "encryption-algorithm",
         [ALLOW_ACCOUNT, ONLY_SYMMETRIC], "kms:GenerateDataKey", ALLOWED,
         facts={"encryption_algorithm": "SYMMETRIC_DEFAULT"}),
    Case("algorithm-only-symmetric-rsa", COND + "encryption-algorithm",
         [ALLOW_ACCOUNT, ONLY_SYMMETRIC], "kms:Encrypt", EXPLICIT,
         facts={"encryption_algorithm": "RSAES_OAEP_SHA_256"}),
    # --- kms:EncryptionContext:context-key --------------------------------------------------------
    Case("context-pair-present", EC, [app_role("kms:GenerateDataKey",
         {"StringEquals": {"kms:EncryptionContext:AppName": "ExampleApp"}})],
         "kms:GenerateDataKey", ALLOWED, caller=APP_ROLE_SESSION, facts=APP),
    Case("context-pair-and-others", EC, [app_role("kms:GenerateDataKey",
         {"StringEquals": {"kms:EncryptionContext:AppName": "ExampleApp"}})],
         "kms:GenerateDataKey", ALLOWED, caller=APP_ROLE_SESSION,
         facts=ec(AppName="ExampleApp", Project="Alpha")),
    Case("context-pair-other-value", EC, [app_role("kms:GenerateDataKey",
         {"StringEquals": {"kms:EncryptionContext:AppName": "ExampleApp"}})],
         "kms:GenerateDataKey", IMPLICIT, caller=APP_ROLE_SESSION, facts=ec(AppName="Other")),
    Case("context-pair-missing", EC, [app_role("kms:GenerateDataKey",
         {"StringEquals": {"kms:EncryptionContext:AppName": "ExampleApp"}})],
         "kms:GenerateDataKey", IMPLICIT, caller=APP_ROLE_SESSION, facts=ec()),
    Case("context-only-appname", EC, [APP_ONLY], "kms:GenerateDataKey", ALLOWED, caller=ALICE,
         facts=APP),
    Case("context-only-appname-extra-pair", EC, [APP_ONLY], "kms:GenerateDataKey", IMPLICIT,
         caller=ALICE, facts=ec(AppName="ExampleApp", Stage="Test")),
    Case("context-deny-restricted", EC, [ALLOW_ACCOUNT, app_role("kms:GenerateDataKey",
         {"StringEquals": {"kms:EncryptionContext:Stage": "Restricted"}}, "Deny")],
         "kms:GenerateDataKey", EXPLICIT, caller=APP_ROLE_SESSION, facts=ec(Stage="Restricted")),
    Case("context-deny-spares-test", EC, [ALLOW_ACCOUNT, app_role("kms:GenerateDataKey",
         {"StringEquals": {"kms:EncryptionContext:Stage": "Restricted"}}, "Deny")],
         "kms:GenerateDataKey", ALLOWED, caller=APP_ROLE_SESSION, facts=ec(Stage="Test")),
    Case("context-two-pairs-both", EC_MANY, [app_role("kms:Decrypt", {"StringEquals": {
         "kms:EncryptionContext:Department": "IT", "kms:EncryptionContext:Project": "Alpha"}})],
         "kms:Decrypt", ALLOWED, caller=APP_ROLE_SESSION, facts=ec(Department="IT",
                                                                    Project="Alpha")),
    Case("context-two-pairs-one", EC_MANY, [app_role("kms:Decrypt", {"StringEquals": {
         "kms:EncryptionContext:Department": "IT", "kms:EncryptionContext:Project": "Alpha"}})],
         "kms:Decrypt", IMPLICIT, caller=APP_ROLE_SESSION, facts=ec(Department="IT")),
    Case("context-either-pair", EC_MANY, [
         app_role("kms:GenerateDataKey",
                  {"StringEquals": {"kms:EncryptionContext:Department": "IT"}}),
         app_role("kms:GenerateDataKey",
                  {"StringEquals": {"kms:EncryptionContext:Project": "Alpha"}})],
         "kms:GenerateDataKey", ALLOWED, caller=APP_ROLE_SESSION, facts=ec(Project="Alpha")),
    Case("context-both-pairs-only", EC_MANY, [IT_AND_ALPHA_ONLY], "kms:GenerateDataKey",
         ALLOWED, caller=ALICE, facts=ec(Department="IT", Project="Alpha")),
    Case("context-both-pairs-only-extra", EC_MANY, [IT_AND_ALPHA_ONLY], "kms:GenerateDataKey",
         IMPLICIT, caller=ALICE, facts=ec(Department="IT", Project="Alpha", Stage="Test")),
    Case("context-deny-either-stage", EC_MANY, [ALLOW_ACCOUNT, app_role("kms:GenerateDataKey",
         {"StringEquals": {"kms:EncryptionContext:Stage": ["Restricted", "Production"]}}, "Deny")],
         "kms:GenerateDataKey", EXPLICIT, caller=APP_ROLE_SESSION, facts=ec(Stage="Production")),
    Case("context-key-name-any-case", EC_CASE, [app_role("kms:Decrypt",
         {"StringEquals": {"kms:EncryptionContext:Appname": "ExampleApp"}})], "kms:Decrypt",
         ALLOWED, caller=APP_ROLE_SESSION, facts=APP),
    Case("context-value-case-matters", EC_CASE, [app_role("kms:Decrypt",
         {"StringEquals": {"kms:EncryptionContext:Appname": "ExampleApp"}})], "kms:Decrypt",
         IMPLICIT, caller=APP_ROLE_SESSION, facts=ec(AppName="exampleapp")),
    Case("context-keys-case-sensitive", EC_CASE, [app_role("kms:GenerateDataKey",
         {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "AppName"}})],
         "kms:GenerateDataKey", IMPLICIT, caller=APP_ROLE_SESSION, facts=ec(appname="ExampleApp")),
    Case("context-variable-own-name", EC_VARS, [USERNAME_CONTEXT], "kms:Encrypt", ALLOWED,
         caller=f"arn:aws:iam::{ACCOUNT}:user/bob", facts=ec(user="bob"), note=DEPLOYED),
    Case("context-variable-other-name", EC_VARS, [USERNAME_CONTEXT], "kms:Decrypt", IMPLICIT,
         caller=f"arn:aws:iam::{ACCOUNT}:user/bob", facts=ec(user="alice")),
    Case("context-variable-no-username", EC_VARS, [USERNAME_CONTEXT], "kms:Decrypt", IMPLICIT,
         caller=APP_ROLE_SESSION, facts=ec(user="app"),
         note="aws:username is present only for IAM users"),
    # --- kms:EncryptionContextKeys --------------------------------------------------------------
    Case("context-keys-any-appname", COND + "encryption-context-keys", [app_role(
         ["kms:Encrypt", "kms:GenerateDataKey*"],
         {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "AppName"}})],
         "kms:GenerateDataKey", ALLOWED, caller=APP_ROLE_SESSION,
         facts=ec(AppName="Helper", Project="Alpha")),
    Case("context-keys-any-without-appname", COND + "encryption-context-keys", [app_role(
         ["kms:Encrypt", "kms:GenerateDataKey*"],
         {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "AppName"}})],
         "kms:GenerateDataKey", IMPLICIT, caller=APP_ROLE_SESSION, facts=ec(Project="Alpha")),
    Case("context-keys-any-no-context", COND + "encryption-context-keys", [app_role(
         ["kms:Encrypt", "kms:GenerateDataKey*"],
         {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "AppName"}})],
         "kms:Encrypt", IMPLICIT, caller=APP_ROLE_SESSION, facts=ec()),
    Case("context-required-null-false", COND + "encryption-context-keys", [app_role(
         ["kms:Encrypt", "kms:GenerateDataKey*"], {"Null": {"kms:EncryptionContextKeys": False}})],
         "kms:Encrypt", ALLOWED, caller=APP_ROLE_SESSION, facts=ec(Any="thing")),
    Case("context-required-but-absent", COND + "encryption-context-keys", [app_role(
         ["kms:Encrypt", "kms:GenerateDataKey*"], {"Null": {"kms:EncryptionContextKeys": False}})],
         "kms:Encrypt", IMPLICIT, caller=APP_ROLE_SESSION, facts=ec()),
    # --- grant condition keys ------------------------------------------------------------------
    Case("grant-constraint-equals", COND + "grant-constraint-type", [create_grant_by(
         {"StringEquals": {"kms:GrantConstraintType": "EncryptionContextEquals"}})],
         "kms:CreateGrant", ALLOWED, facts=grant(["Decrypt"],
         constraint_type="EncryptionContextEquals", constraint_context={"Department": "IT"})),
    Case("grant-constraint-subset", COND + "grant-constraint-type", [create_grant_by(
         {"StringEquals": {"kms:GrantConstraintType": "EncryptionContextEquals"}})],
         "kms:CreateGrant", IMPLICIT, facts=grant(["Decrypt"],
         constraint_type="EncryptionContextSubset", constraint_context={"Department": "IT"})),
    Case("grant-constraint-none", COND + "grant-constraint-type", [create_grant_by(
         {"StringEquals": {"kms:GrantConstraintType": "EncryptionContextEquals"}})],
         "kms:CreateGrant", IMPLICIT, facts=grant(["Decrypt"])),
    Case("grant-operations-all-within", COND + "grant-operations", [create_grant_by(
         {"ForAllValues:StringEquals": {"kms:GrantOperations": ["Encrypt", "ReEncryptTo"]}})],
         "kms:CreateGrant", ALLOWED, facts=grant(["Encrypt", "ReEncryptTo"])),
    Case("grant-operations-all-beyond", COND + "grant-operations", [create_grant_by(
         {"ForAllValues:StringEquals": {"kms:GrantOperations": ["Encrypt", "ReEncryptTo"]}})],
         "kms:CreateGrant", IMPLICIT, facts=grant(["Encrypt", "Decrypt"])),
    Case("grant-operations-any", COND + "grant-operations", [create_grant_by(
         {"ForAnyValue:StringEquals": {"kms:GrantOperations": ["Encrypt", "ReEncryptTo"]}})],
         "kms:CreateGrant", ALLOWED, facts=grant(["Encrypt", "Decrypt", "ReEncryptFrom"])),
    Case("grant-grantee-named", COND + "grantee-principal", [create_grant_by({"StringEquals": {
         "kms:GranteePrincipal": f"arn:aws:iam::{ACCOUNT}:role/LimitedAdminRole"}})],
         "kms:CreateGrant", ALLOWED, facts=grant(["Decrypt"],
         grantee_principal=f"arn:aws:iam::{ACCOUNT}:role/LimitedAdminRole")),
    Case("grant-grantee-other", COND + "grantee-principal", [create_grant_by({"StringEquals": {
         "kms:GranteePrincipal": f"arn:aws:iam::{ACCOUNT}:role/LimitedAdminRole"}})],
         "kms:CreateGrant", IMPLICIT, facts=grant(["Decrypt"], grantee_principal=EXAMPLE_USER)),
    Case("grant-retiring-listed", COND + "retiring-principal", [create_grant_by({"StringEquals": {
         "kms:RetiringPrincipal": [f"arn:aws:iam::{ACCOUNT}:role/LimitedAdminRole",
                                   f"arn:aws:iam::{ACCOUNT}:user/OpsAdmin"]}})],
         "kms:CreateGrant", ALLOWED, facts=grant(["Decrypt"], grantee_principal=EXAMPLE_USER,
         retiring_principal=f"arn:aws:iam::{ACCOUNT}:user/OpsAdmin")),
    Case("grant-retiring-missing", COND + "retiring-principal", [create_grant_by({"StringEquals": {
         "kms:RetiringPrincipal": [f"arn:aws:iam::{ACCOUNT}:role/LimitedAdminRole",
                                   f"arn:aws:iam::{ACCOUNT}:user/OpsAdmin"]}})],
         "kms:CreateGrant", IMPLICIT, facts=grant(["Decrypt"], grantee_principal=EXAMPLE_USER)),
    # --- key properties: kms:KeyOrigin ----------------------------------------------------------
    Case("key-origin-cloudhsm-only", COND + "key-origin", [{
         "Effect": "Allow", "Principal": {"AWS": EXAMPLE_USER},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncrypt*"],
         "Resource": f"arn:aws:kms:us-west-2:{ACCOUNT}:key/*",
         "Condition": {"StringEquals": {"kms:KeyOrigin": "AWS_CLOUDHSM"}}}],
         "kms:Encrypt", IMPLICIT, facts=SYMMETRIC),
    # --- aliases: kms:RequestAlias and kms:ResourceAliases -------------------------------------
    Case("request-alias-named", COND + "request-alias", [{
         "Sid": "Key policy using a request alias condition", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/developer"},
         "Action": "kms:GenerateDataKey", "Resource": "*",
         "Condition": {"StringEquals": {"kms:RequestAlias": "alias/finance-key"}}}],
         "kms:GenerateDataKey", ALLOWED,
         caller=f"arn:aws:sts::{ACCOUNT}:assumed-role/developer/dev",
         facts={"request_alias": "alias/finance-key"}),
    Case("request-alias-key-id", COND + "request-alias", [{
         "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/developer"},
         "Action": "kms:GenerateDataKey", "Resource": "*",
         "Condition": {"StringEquals": {"kms:RequestAlias": "alias/finance-key"}}}],
         "kms:GenerateDataKey", IMPLICIT,
         caller=f"arn:aws:sts::{ACCOUNT}:assumed-role/developer/dev", facts={}),
    Case("resource-alias-any", COND + "resource-aliases", [RESOURCE_ALIASES_ANY],
         "kms:GenerateDataKey", ALLOWED,
         facts={"resource_aliases": ["alias/finance-key", "alias/other"]}),
    Case("resource-alias-none", COND + "resource-aliases", [RESOURCE_ALIASES_ANY],
         "kms:GenerateDataKey", IMPLICIT, facts={"resource_aliases": []}),
    Case("resource-alias-all-test", COND + "resource-aliases", [RESOURCE_ALIASES_ALL],
         "kms:DisableKey", ALLOWED, facts={"resource_aliases": ["alias/Test-1", "alias/myTest"]}),
    Case("resource-alias-not-all-test", COND + "resource-aliases", [RESOURCE_ALIASES_ALL],
         "kms:EnableKey", IMPLICIT, facts={"resource_aliases": ["alias/Test-1", "alias/prod"]}),
    Case("resource-alias-all-but-none", COND + "resource-aliases", [RESOURCE_ALIASES_ALL],
         "kms:EnableKey", IMPLICIT, facts={"resource_aliases": []}),
    # --- aws:SourceIp --------------------------------------------------------------------------
    Case("source-ip-in-range", IP, [SOURCE_IP], "kms:Encrypt", ALLOWED,
         facts={"source_ip": "203.0.113.7"}),
    Case("source-ip-outside", IP, [SOURCE_IP], "kms:Encrypt", IMPLICIT,
         facts={"source_ip": "198.51.100.7"}),
    Case("source-ip-v6", IP, [SOURCE_IP], "kms:Encrypt", ALLOWED,
         facts={"source_ip": "2001:db8:1234:5678::9"}),
    Case("source-ip-absent", IP, [SOURCE_IP], "kms:Encrypt", IMPLICIT,
         note="no address (an in-process call): the key is absent, so IpAddress fails"),
    Case("source-ip-deny-not-in", IAM + "reference_policies_examples_aws_deny-ip.html",
         [ALLOW_ACCOUNT, {"Effect": "Deny", "Principal": {"AWS": ROOT}, "Action": "*",
                          "Resource": "*", "Condition": {"NotIpAddress": {
                              "aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]}}}],
         "kms:Decrypt", EXPLICIT, facts={"source_ip": "198.51.100.7"},
         note="the example's aws:ViaAWSService condition is left out: no AWS service calls"),
    # --- principals ----------------------------------------------------------------------------
    Case("principal-account-id-short-form", PRINCIPALS + "#principal-accounts",
         [{**ALLOW_ACCOUNT, "Principal": {"AWS": ACCOUNT}}], "kms:Encrypt", ALLOWED,
         note=DEPLOYED),
    Case("principal-everyone", PRINCIPALS + "#principal-anonymous",
         [{**ALLOW_ACCOUNT, "Principal": "*"}], "kms:Encrypt", ALLOWED, caller=STRANGER),
    Case("principal-aws-star", PRINCIPALS + "#principal-anonymous",
         [{**ALLOW_ACCOUNT, "Principal": {"AWS": "*"}}], "kms:Encrypt", ALLOWED, caller=STRANGER),
    Case("not-principal-bob-spared", NOT_PRINCIPAL, [ALLOW_444, NOT_BOB], "kms:Decrypt", ALLOWED,
         caller="arn:aws:iam::444455556666:user/Bob"),
    Case("not-principal-alice-denied", NOT_PRINCIPAL, [ALLOW_444, NOT_BOB], "kms:Decrypt",
         EXPLICIT, caller=OTHER_ACCOUNT_USER),
    Case("not-principal-account-spared", NOT_PRINCIPAL, [ALLOW_444, NOT_BOB], "kms:Decrypt",
         ALLOWED, caller="arn:aws:iam::444455556666:root"),
    Case("username-ignore-case", IAM + "reference_policies_elements_condition.html",
         [{**ALLOW_ACCOUNT, "Condition": {"StringEqualsIgnoreCase": {"aws:username": "johndoe"}}}],
         "kms:Encrypt", ALLOWED, caller=f"arn:aws:iam::{ACCOUNT}:user/JohnDoe"),
    Case("username-case-sensitive", IAM + "reference_policies_elements_condition.html",
         [{**ALLOW_ACCOUNT, "Condition": {"StringEquals": {"aws:username": "johndoe"}}}],
         "kms:Encrypt", IMPLICIT, caller=f"arn:aws:iam::{ACCOUNT}:user/JohnDoe"),
    Case("not-equals-matches-none", IAM + "reference_policies_multi-value-conditions.html"
         "#reference_policies_multiple-conditions-eval",
         [{**ALLOW_ACCOUNT, "Principal": "*"}, {"Effect": "Deny", "Principal": "*",
          "Action": "kms:*", "Resource": "*", "Condition": {"StringNotEquals": {
              "aws:PrincipalAccount": [ACCOUNT, "444455556666"]}}}],
         "kms:Encrypt", EXPLICIT, caller=STRANGER),
    Case("not-equals-listed-account", IAM + "reference_policies_multi-value-conditions.html"
         "#reference_policies_multiple-conditions-eval",
         [{**ALLOW_ACCOUNT, "Principal": "*"}, {"Effect": "Deny", "Principal": "*",
          "Action": "kms:*", "Resource": "*", "Condition": {"StringNotEquals": {
              "aws:PrincipalAccount": [ACCOUNT, "444455556666"]}}}],
         "kms:Encrypt", ALLOWED, caller=OTHER_ACCOUNT_USER),
    # --- explicit and implicit denies ----------------------------------------------------------
    Case("explicit-deny-wins", IAM + "reference_policies_evaluation-logic_AccessPolicyLanguage"
         "_Interplay.html", [ALLOW_ACCOUNT, {"Effect": "Deny", "Principal": {"AWS": ROOT},
                                             "Action": "kms:Encrypt", "Resource": "*"}],
         "kms:Encrypt", EXPLICIT),
    Case("explicit-deny-other-action", IAM + "reference_policies_evaluation-logic_AccessPolicy"
         "Language_Interplay.html", [ALLOW_ACCOUNT, {"Effect": "Deny", "Principal": {"AWS": ROOT},
                                                     "Action": "kms:Encrypt", "Resource": "*"}],
         "kms:Decrypt", ALLOWED),
    Case("not-action-deny", IAM + "reference_policies_elements_notaction.html",
         [ALLOW_ACCOUNT, {"Effect": "Deny", "Principal": {"AWS": ROOT},
                          "NotAction": "kms:Decrypt", "Resource": "*"}],
         "kms:Encrypt", EXPLICIT),
    Case("not-action-spares-named", IAM + "reference_policies_elements_notaction.html",
         [ALLOW_ACCOUNT, {"Effect": "Deny", "Principal": {"AWS": ROOT},
                          "NotAction": "kms:Decrypt", "Resource": "*"}],
         "kms:Decrypt", ALLOWED),
]  # fmt: skip


def _request(case: Case) -> Request:
    facts = dict(case.facts)
    if "key_spec" not in facts:
        facts.update(SYMMETRIC)
    context = request_context(caller=case.caller, region="us-west-2", **facts)
    return Request(principal=case.caller, action=case.action, resource=KEY, context=context)


def test_there_are_enough_cases_and_each_cites_its_page() -> None:
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)
    for case in CASES:
        assert case.source.startswith(("https://docs.aws.amazon.com/kms/",
                                       "https://docs.aws.amazon.com/IAM/")), case.id  # fmt: skip
    decisions = {case.expected for case in CASES}
    assert decisions == set(Decision)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_documented_example(case: Case) -> None:
    document = json.dumps({"Version": "2012-10-17", "Statement": case.statements})
    result = evaluate(parse_policy(document), _request(case))
    assert result.decision is case.expected, f"{case.source} {case.note}"


# --- documents KMS refuses -----------------------------------------------------------------------
REFUSED = [
    ("for-all-values-with-context-key", COND + "encryption-context",
     {**ALLOW_ACCOUNT, "Condition": {"ForAllValues:StringEquals": {
         "kms:EncryptionContext:Department": "IT"}}}, "OverlyPermissiveCondition"),
    ("for-all-values-with-request-tag", KMS + "conditions-kms.html#set-operators",
     {**ALLOW_ACCOUNT, "Condition": {"ForAllValues:StringEquals": {
         "aws:RequestTag/Project": "Alpha"}}}, "OverlyPermissiveCondition"),
    ("character-outside-latin-1", OVERVIEW + "#key-policy-format",
     {**ALLOW_ACCOUNT, "Sid": "emoji \u2603"}, r"U\+2603"),
    ("group-is-no-principal", OVERVIEW + "#key-policy-elements",
     {**ALLOW_ACCOUNT, "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:group/Admins"}},
     "not a valid AWS principal"),
    ("statement-without-principal", OVERVIEW + "#key-policy-elements",
     {k: v for k, v in ALLOW_ACCOUNT.items() if k != "Principal"}, "Principal"),
    ("unknown-operator", IAM + "reference_policies_elements_condition_operators.html",
     {**ALLOW_ACCOUNT, "Condition": {"StringLikeIgnoreCase": {"aws:username": "a*"}}},
     "not supported"),
    ("unknown-key", IAM + "reference_policies_elements_condition.html",
     {**ALLOW_ACCOUNT, "Condition": {"StringEquals": {"aws:NoSuchKey": "x"}}}, "not supported"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "source", "statement", "reason"), REFUSED,
                         ids=[r[0] for r in REFUSED])  # fmt: skip
def test_documents_kms_refuses(
    name: str, source: str, statement: dict[str, Any], reason: str
) -> None:
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]}, ensure_ascii=False)
    with pytest.raises(MalformedPolicyDocumentException, match=reason):
        parse_policy(document)


def test_32_kilobytes_is_the_limit() -> None:
    """key-policy-overview, "Key policy format": up to 32 kilobytes (32,768 bytes)."""
    statement = {**ALLOW_ACCOUNT, "Sid": ""}
    base = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    statement["Sid"] = "x" * (32768 - len(base))
    exact = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    assert len(exact) == 32768
    parse_policy(exact)
    statement["Sid"] += "x"
    with pytest.raises(LimitExceededException):
        parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [statement]}))


def test_denial_message_names_principal_action_and_key() -> None:
    request = _request(Case("m", DEFAULT, [], "kms:Decrypt", IMPLICIT, caller=STRANGER))
    decision = evaluate(parse_policy(default_policy(ACCOUNT)), request).decision
    assert denied_message(request, decision, policy_type="resource-based") == (
        f"User: {STRANGER} is not authorized to perform: kms:Decrypt on resource: {KEY} "
        "because no resource-based policy allows the kms:Decrypt action"
    )


# --- the property: adding a Deny statement never turns a deny into an allow --------------------
_PRINCIPALS = [ROOT, EXAMPLE_USER, OTHER_ACCOUNT_USER, "*", EXAMPLE_ROLE_SESSION.replace(
    "sts", "iam").replace("assumed-role/ExampleRole/session-1", "role/ExampleRole")]  # fmt: skip
_ACTIONS = ["kms:*", "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:Re*", "*"]
_CONDITIONS: list[dict[str, Any]] = [
    {},
    {"StringEquals": {"kms:EncryptionContext:tenant": "a"}},
    {"StringNotEquals": {"kms:EncryptionContext:tenant": "a"}},
    {"StringLike": {"kms:EncryptionContext:tenant": ["a*", "?b"]}},
    {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["tenant", "x"]}},
    {"ForAllValues:StringLike": {"kms:EncryptionContextKeys": ["t*"]}},
    {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}},
    {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"Null": {"kms:EncryptionContextKeys": "true"}},
    {"StringEqualsIfExists": {"kms:RequestAlias": "alias/a"}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"StringNotEqualsIgnoreCase": {"aws:username": "ExampleUser"}},
]


@st.composite
def _statements(draw: st.DrawFn, effect: str | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": effect or draw(st.sampled_from(["Allow", "Deny"])),
        "Principal" if draw(st.booleans()) else "NotPrincipal": {
            "AWS": draw(st.lists(st.sampled_from(_PRINCIPALS), min_size=1, max_size=2))},
        "Action" if draw(st.integers(0, 3)) else "NotAction": draw(
            st.lists(st.sampled_from(_ACTIONS), min_size=1, max_size=2)),
        "Resource": draw(st.sampled_from(["*", KEY, "arn:aws:kms:*:111122223333:key/*"])),
    }  # fmt: skip
    condition = draw(st.sampled_from(_CONDITIONS))
    if condition:
        statement["Condition"] = condition
    return statement


@st.composite
def _requests(draw: st.DrawFn) -> Request:
    caller = draw(st.sampled_from([ROOT, EXAMPLE_USER, OTHER_ACCOUNT_USER, EXAMPLE_ROLE_SESSION]))
    facts: dict[str, Any] = {"encryption_context": draw(st.dictionaries(
        st.sampled_from(["tenant", "Tenant", "x"]), st.sampled_from(["a", "ab", "b"]),
        max_size=3))}  # fmt: skip
    if draw(st.booleans()):
        facts["source_ip"] = draw(st.sampled_from(["127.0.0.1", "10.1.2.3", "::1"]))
    if draw(st.booleans()):
        facts["request_alias"] = draw(st.sampled_from(["alias/a", "alias/b"]))
    if draw(st.booleans()):
        facts["secure_transport"] = draw(st.booleans())
    action = draw(st.sampled_from(["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom",
                                   "kms:GenerateDataKey", "kms:PutKeyPolicy"]))  # fmt: skip
    context = request_context(caller=caller, region="us-west-2", **facts)
    return Request(principal=caller, action=action, resource=KEY, context=context)


@settings(max_examples=400, deadline=None)
@given(
    statements=st.lists(_statements(), min_size=1, max_size=4),
    deny=_statements(effect="Deny"),
    position=st.integers(0, 4),
    request=_requests(),
)
def test_adding_a_deny_never_turns_a_deny_into_an_allow(
    statements: list[dict[str, Any]], deny: dict[str, Any], position: int, request: Request
) -> None:
    before = evaluate(parse_policy(json.dumps({"Statement": statements})), request).decision
    with_deny = [*statements[:position], deny, *statements[position:]]
    after = evaluate(parse_policy(json.dumps({"Statement": with_deny})), request).decision
    if before is not Decision.ALLOWED:
        assert after is not Decision.ALLOWED
    if before is Decision.EXPLICIT_DENY:
        assert after is Decision.EXPLICIT_DENY
