"""Fixed keys for the fuzz targets: seeds made once keep decrypting in every later run.

The raw keys are constants (the RSA key is a test key committed beside this file). The KMS key is
made in a fresh keystore each run with imported key material under a fixed key id (the
``_custom_id_`` tag): the same bytes under the same id give the same key in every keystore, so
blobs and messages in the seed corpus open in the keystore of any run.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from envelope.keys.local import LocalKeyService
from envelope.keys.material import import_key_material
from envelope.message import KmsKey, RawAesKey, RawRsaKey

KEY_ID = "f0220000-aaaa-4bbb-8ccc-000000000016"
KEY_MATERIAL = bytes(range(100, 132))  # a test key: 32 fixed bytes
REGION = "us-east-1"
ACCOUNT = "123456789012"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"
AES_KEY = bytes(range(32))
CONTEXT = {"purpose": "fuzz", "team": "security"}


def rsa_private_key() -> rsa.RSAPrivateKey:
    pem = (Path(__file__).parent / "fuzz-rsa-key.pem").read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@cache
def raw_aes() -> RawAesKey:
    return RawAesKey("fuzz-namespace", "fuzz-aes", AES_KEY)


@cache
def raw_rsa() -> RawRsaKey:
    return RawRsaKey("fuzz-namespace", "fuzz-rsa", private_key=rsa_private_key())


@cache
def home() -> Path:
    """A private keystore folder for this process, removed when it exits."""
    path = Path(tempfile.mkdtemp(prefix="envelope-fuzz-"))
    atexit.register(shutil.rmtree, path, True)
    return path / "home"


@cache
def kms() -> LocalKeyService:
    """A LocalKeyService holding the fixed key (``KEY_ID``), opened once per process."""
    os.environ.pop("ENVELOPE_PASSPHRASE", None)
    service = LocalKeyService(home(), region=REGION, account_id=ACCOUNT)
    service.create_key(origin="EXTERNAL", tags=[{"TagKey": "_custom_id_", "TagValue": KEY_ID}])
    import_key_material(service, key_id=KEY_ID, material=KEY_MATERIAL)
    atexit.register(service.close)
    return service


@cache
def kms_key() -> KmsKey:
    return KmsKey(kms(), KEY_ARN)
