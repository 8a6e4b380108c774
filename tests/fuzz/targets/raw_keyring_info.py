"""EDK provider info and ciphertext as each wrapping key reads them (``envelope/message/
wrapping.py``, ``discovery.py``, ``arn.py``, ``info.py``).

Input: four length-prefixed fields: provider id, provider info, encrypted data key, serialized
encryption context. Every key's ``unwrap`` returns a data key or None (an EDK it cannot open is
not an error); the KMS keys send only valid key ARNs to the key service. Errors allowed:
``EnvelopeError`` subclasses.
"""

from __future__ import annotations

from envelope.errors import EnvelopeError, MessageError
from envelope.message import KmsDiscovery
from envelope.message.arn import edk_key_arn, parse_kms_arn
from envelope.message.header import EncryptedDataKey, parse_context
from envelope.message.info import _provider_text
from tests.fuzz import fixtures
from tests.fuzz.harness import Target, expect, split_fields


def run(data: bytes) -> None:
    provider_id, info, ciphertext, raw_context = split_fields(data, 4)
    try:
        context = parse_context(raw_context)
    except MessageError:
        context = {}
    edk = EncryptedDataKey(provider_id.decode("utf-8", "replace"), info, ciphertext)
    arn = edk_key_arn(info)
    if arn is not None:
        parsed = parse_kms_arn(arn)
        expect(parsed is not None and parsed.resource_type == "key", "edk_key_arn took a non-key")
    _provider_text(edk).encode("utf-8")
    kms = fixtures.kms()
    keys = (
        fixtures.raw_aes(),
        fixtures.raw_rsa(),
        fixtures.kms_key(),
        KmsDiscovery(kms),
        KmsDiscovery(kms, accounts=[fixtures.ACCOUNT]),
    )
    for key in keys:
        data_key = key.unwrap(edk, context)  # type: ignore[attr-defined]
        if data_key is not None:
            expect(isinstance(data_key, bytes) and len(data_key) in (16, 24, 32),
                   f"{key!r} unwrapped a data key of {len(data_key)} bytes")  # fmt: skip


TARGET = Target(
    name="raw_keyring_info",
    doc=__doc__ or "",
    run=run,
    allowed=(EnvelopeError,),
    setup=lambda: (fixtures.kms_key(), None)[1],
)
