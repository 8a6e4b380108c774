"""LocalKeyService's storage: the keystore and the typed records it reads and writes."""

from envelope.keys.store.keystore import DB_NAME, Keystore
from envelope.keys.store.records import (
    AliasRecord,
    GrantRecord,
    ImportRecord,
    KeyRecord,
    PrincipalRecord,
    TagRecord,
    VersionRecord,
)
from envelope.keys.store.rootkey import ROOT_KEY_NAME, SCRYPT_N
from envelope.keys.store.tables import Records

__all__ = [
    "DB_NAME",
    "ROOT_KEY_NAME",
    "SCRYPT_N",
    "AliasRecord",
    "GrantRecord",
    "ImportRecord",
    "KeyRecord",
    "Keystore",
    "PrincipalRecord",
    "Records",
    "TagRecord",
    "VersionRecord",
]
