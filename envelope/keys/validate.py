"""Input validation at the KeyService boundary, with the limits of the AWS KMS API reference.

Each refusal is the exception AWS KMS raises, worded as KMS words it, naming the limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from cryptography.hazmat.primitives import hashes

from envelope.errors import InvalidAliasNameException, TagException, ValidationException
from envelope.keys.base import RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SYMMETRIC_DEFAULT
from envelope.keys.blob import encode_context

# --- Limits from the AWS KMS API reference --------------------------------------------------------
MAX_ENCRYPT_PLAINTEXT = 4096
MAX_DATA_KEY_BYTES = 1024
MAX_RANDOM_BYTES = 1024
MAX_CIPHERTEXT_BLOB = 6144
MAX_DESCRIPTION = 8192
MAX_POLICY = 32768
MAX_KEY_ID = 2048
MAX_GRANT_TOKENS = 10
MAX_GRANT_TOKEN = 8192
MAX_MESSAGE = 4096  # Sign, Verify, GenerateMac, VerifyMac: Message
MAX_SIGNATURE = 6144  # Verify: Signature; VerifyMac: Mac
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
MAX_TAGS = 50
ENCRYPTION_ALGORITHMS = (SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256)
DELETION_WINDOW = (7, 30)
DEFAULT_DELETION_WINDOW = 30
ROTATION_PERIOD = (90, 2560)
DEFAULT_ROTATION_PERIOD = 365
MAX_ON_DEMAND_ROTATIONS = 25
DATA_KEY_SPECS = {"AES_128": 16, "AES_256": 32}
RSA_SIZES = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
RSA_ALGORITHMS: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    RSAES_OAEP_SHA_1: hashes.SHA1,
    RSAES_OAEP_SHA_256: hashes.SHA256,
}
LIST_LIMITS = {
    "keys": (100, 1000),
    "aliases": (50, 100),
    "rotations": (100, 1000),
    "policies": (100, 1000),
    "grants": (50, 100),
    "tags": (50, 50),
}
"""Default and maximum page size per list operation."""

_ALIAS_PATTERN = re.compile(r"alias/[a-zA-Z0-9/_-]+")
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def invalid(member: str, constraint: str) -> ValidationException:
    """KMS's wording for a request member that breaks a documented constraint."""
    return ValidationException(
        f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
        f"{constraint}"
    )


def _wrong_type(member: str, wanted: str, value: object) -> ValidationException:
    return invalid(member, f"Member must be {wanted}, not {type(value).__name__}")


def check_length(member: str, value: bytes, low: int, high: int) -> bytes:
    """A bytes-like member of ``low``..``high`` bytes, returned as ``bytes``."""
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise _wrong_type(member, "bytes", value)
    value = bytes(value)
    if len(value) < low:
        raise invalid(member, f"Member must have length greater than or equal to {low}")
    if len(value) > high:
        raise invalid(member, f"Member must have length less than or equal to {high}")
    return value


def check_range(member: str, value: int, low: int, high: int) -> int:
    """An integer member within ``low``..``high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong_type(member, "an integer", value)
    if value < low:
        raise invalid(member, f"Member must have value greater than or equal to {low}")
    if value > high:
        raise invalid(member, f"Member must have value less than or equal to {high}")
    return value


def check_limit(member: str, limit: int | None, operation: str) -> int:
    """A list operation's page size: its default when None, else within its maximum."""
    default, maximum = LIST_LIMITS[operation]
    return check_range(member, default if limit is None else limit, 1, maximum)


def check_context(context: Mapping[str, str] | None) -> dict[str, str]:
    """An encryption context as a plain dict of non-empty string keys and string values that
    encode as UTF-8 (it is authenticated as its UTF-8 encoding), at most 65,535 pairs."""
    if context is None:
        return {}
    if not isinstance(context, Mapping):
        raise _wrong_type("encryptionContext", "a map of strings to strings", context)
    result: dict[str, str] = {}
    for name, value in context.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise ValidationException("encryption context keys and values must be strings")
        if not name:
            raise ValidationException("encryption context keys must not be empty")
        result[name] = value
    encode_context(result)  # too many pairs or a lone surrogate: a ValidationException now
    return result


def check_string(member: str, value: str, low: int = 1, high: int = 2048) -> str:
    """A string member of ``low``..``high`` characters that is Unicode text (it must encode as
    UTF-8 to travel or be stored: a lone surrogate, as ``os.fsdecode`` makes of a byte that is
    not UTF-8, cannot)."""
    if not isinstance(value, str):
        raise _wrong_type(member, "a string", value)
    if not _is_text(value):
        raise invalid(member, "Member must be Unicode text (it holds a lone surrogate)")
    if len(value) < low:
        raise invalid(member, f"Member must have length greater than or equal to {low}")
    if len(value) > high:
        raise invalid(member, f"Member must have length less than or equal to {high}")
    return value


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_key_id(value: str, member: str = "keyId") -> str:
    """A key id, key ARN, alias name or alias ARN: 1..2048 characters."""
    return check_string(member, value, 1, MAX_KEY_ID)


def check_optional_key_id(value: str | None, member: str = "keyId") -> str | None:
    return None if value is None else check_key_id(value, member)


def check_enum(member: str, value: str, allowed: Iterable[str]) -> str:
    """One of the values KMS's model allows for the member."""
    options = tuple(allowed)
    if not isinstance(value, str) or value not in options:
        raise invalid(member, f"Member must satisfy enum value set: [{', '.join(options)}]")
    return value


def check_flag(member: str, value: bool) -> bool:
    if not isinstance(value, bool):
        raise _wrong_type(member, "a boolean", value)
    return value


def check_grant_tokens(tokens: Sequence[str] | None) -> tuple[str, ...]:
    """Grant tokens as KMS takes them: at most 10, each 1..8192 characters."""
    if tokens is None:
        return ()
    if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Sequence):
        raise _wrong_type("grantTokens", "a list of strings", tokens)
    if len(tokens) > MAX_GRANT_TOKENS:
        raise invalid(
            "grantTokens", f"Member must have length less than or equal to {MAX_GRANT_TOKENS}"
        )
    return tuple(check_string("grantTokens.member", t, 1, MAX_GRANT_TOKEN) for t in tokens)


def check_marker(marker: str | None) -> str | None:
    return None if marker is None else check_string("marker", marker, 1, 1024)


def check_alias_name(alias_name: str) -> None:
    """An alias name as KMS accepts it for customer keys."""
    if not isinstance(alias_name, str) or not 1 <= len(alias_name) <= 256:
        raise invalid("aliasName", "Member must have length between 1 and 256")
    if not _ALIAS_PATTERN.fullmatch(alias_name):
        raise InvalidAliasNameException(
            f"Alias {alias_name} must begin with 'alias/' and contain only alphanumeric "
            "characters, forward slashes (/), underscores (_) and dashes (-)"
        )
    if alias_name.startswith("alias/aws/"):
        raise InvalidAliasNameException(
            "Alias names that begin with 'alias/aws/' are reserved for AWS managed keys"
        )


def check_description(description: str) -> str:
    return check_string("description", description, 0, MAX_DESCRIPTION)


def rsa_plaintext_limit(key_spec: str, algorithm: str) -> int:
    """RSA-OAEP's largest plaintext for this key size and hash (RFC 8017, 7.1.1)."""
    digest = RSA_ALGORITHMS[algorithm]().digest_size
    return RSA_SIZES[key_spec] // 8 - 2 * digest - 2


def check_tags(tags: Sequence[Mapping[str, str]] | None) -> list[tuple[str, str]]:
    """CreateKey's ``Tags``: ``[{"TagKey": ..., "TagValue": ...}]`` as (key, value) pairs.

    Raises:
        ValidationException: wrong types or lengths (TagKey 1-128, TagValue 0-256 characters).
        TagException: a key given twice, a reserved ``aws:`` key, or more than 50 tags.
    """
    if tags is None:
        return []
    if isinstance(tags, (str, bytes, Mapping)) or not isinstance(tags, Sequence):
        raise _wrong_type("tags", "a list of {TagKey, TagValue} maps", tags)
    pairs: list[tuple[str, str]] = []
    for tag in tags:
        if not isinstance(tag, Mapping) or set(tag) - {"TagKey", "TagValue"}:
            raise _wrong_type("tags.member", "a map with TagKey and TagValue", tag)
        if "TagKey" not in tag or "TagValue" not in tag:
            raise invalid("tags.member", "Member must have TagKey and TagValue")
        name = check_string("tags.member.tagKey", tag["TagKey"], 1, MAX_TAG_KEY)
        value = check_string("tags.member.tagValue", tag["TagValue"], 0, MAX_TAG_VALUE)
        if name.startswith("aws:"):
            raise TagException(f"Tag keys beginning with 'aws:' are reserved: {name!r}")
        if any(name == seen for seen, _ in pairs):
            raise TagException(f"Tag key {name!r} is given twice")
        pairs.append((name, value))
    if len(pairs) > MAX_TAGS:
        raise TagException(f"{len(pairs)} tags; a key takes at most {MAX_TAGS}")
    return pairs
