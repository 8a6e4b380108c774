"""``envelope key sign|verify|mac|verify-mac|import``: signatures, MACs and imported material.

Messages are read from a file or standard input; signatures and MACs are written raw to a file or
standard output (never to a terminal), or as KMS-shaped JSON with ``--json``. A failed check is
the KMS error (``KMSInvalidSignatureException``, ``KMSInvalidMacException``) and exit status 1.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, BinaryIO

import typer

from envelope.keys.base import KeyService
from envelope.keys.shapes import to_kms_shape
from envelope_cli.common import CliError, atomic_output, key_service, open_input, print_json

KeyArg = Annotated[str, typer.Argument(help="Key id, key ARN, alias name or alias ARN.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the KMS-shaped JSON response.")]
InputOpt = Annotated[
    str, typer.Option("--input", "-i", help="Message file, or - for standard input.")
]
OutputOpt = Annotated[
    str, typer.Option("--output", "-o", help="Output file, or - for standard output.")
]
SigningAlgorithmOpt = Annotated[
    str,
    typer.Option(
        "--algorithm", "-a",
        help="RSASSA_PSS_SHA_256|384|512, RSASSA_PKCS1_V1_5_SHA_256|384|512 or "
        "ECDSA_SHA_256|384|512.",
    ),
]  # fmt: skip
MacAlgorithmOpt = Annotated[
    str, typer.Option("--algorithm", "-a", help="HMAC_SHA_224, HMAC_SHA_256, _384 or _512.")
]
MessageTypeOpt = Annotated[
    str,
    typer.Option(
        "--message-type",
        help="RAW (the message, at most 4096 bytes) or DIGEST (its hash, signed as given).",
    ),
]
PrehashOpt = Annotated[
    bool,
    typer.Option(
        "--prehash",
        help="Hash the input here (any size) and send its digest (message type DIGEST).",
    ),
]

_MAX_MESSAGE = 4096


def _read_message(source: str, *, prehash_with: str | None = None) -> bytes:
    """The message to send: the input as is (at most 4096 bytes), or its digest."""
    with open_input(source) as stream:
        if prehash_with is not None:
            from envelope.keys.asymmetric import digest_of

            return digest_of(prehash_with, stream.read)
        data = stream.read(_MAX_MESSAGE + 1)
    if len(data) > _MAX_MESSAGE:
        raise CliError(
            f"the message is over {_MAX_MESSAGE} bytes, the most KMS signs or MACs",
            hint="sign its digest: add --prehash",
        )
    if not data:
        raise CliError("the message is empty")
    return data


def _write(output: str, data: bytes) -> None:
    with atomic_output(output) as stream:
        stream.write(data)


def _read_small_file(path: str, what: str) -> bytes:
    with open_input(path) as stream:
        data = stream.read(8193)
    if len(data) > 8192:
        raise CliError(f"the {what} file {path} is too large to be a {what}")
    return data


def _message_type(message_type: str, prehash: bool) -> str:
    if prehash and message_type != "RAW":
        raise CliError("--prehash already sends a digest: leave out --message-type")
    return "DIGEST" if prehash else message_type


def sign(
    key: KeyArg,
    algorithm: SigningAlgorithmOpt,
    source: InputOpt = "-",
    output: OutputOpt = "-",
    message_type: MessageTypeOpt = "RAW",
    prehash: PrehashOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Sign a message with an asymmetric SIGN_VERIFY key; the signature goes to --output."""
    kind = _message_type(message_type, prehash)
    message = _read_message(source, prehash_with=algorithm if prehash else None)
    with key_service() as kms:
        result = kms.sign(
            key_id=key, message=message, signing_algorithm=algorithm, message_type=kind
        )
    if as_json:
        print_json(to_kms_shape(result))
    else:
        _write(output, result.signature)


def verify(
    key: KeyArg,
    algorithm: SigningAlgorithmOpt,
    signature: Annotated[
        str, typer.Option("--signature", "-s", help="File holding the raw signature.")
    ],
    source: InputOpt = "-",
    message_type: MessageTypeOpt = "RAW",
    prehash: PrehashOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Verify a signature; exit 0 if it is valid, else KMSInvalidSignatureException (exit 1)."""
    kind = _message_type(message_type, prehash)
    if signature == "-" and source == "-":
        raise CliError("the message and the signature cannot both come from standard input")
    sig = _read_small_file(signature, "signature")
    message = _read_message(source, prehash_with=algorithm if prehash else None)
    with key_service() as kms:
        result = kms.verify(
            key_id=key, message=message, signature=sig, signing_algorithm=algorithm,
            message_type=kind,
        )  # fmt: skip
    _report(as_json, result, "signature valid")


def mac(
    key: KeyArg,
    algorithm: MacAlgorithmOpt,
    source: InputOpt = "-",
    output: OutputOpt = "-",
    as_json: JsonOpt = False,
) -> None:
    """HMAC of a message (at most 4096 bytes) under an HMAC key; the MAC goes to --output."""
    message = _read_message(source)
    with key_service() as kms:
        result = kms.generate_mac(key_id=key, message=message, mac_algorithm=algorithm)
    if as_json:
        print_json(to_kms_shape(result))
    else:
        _write(output, result.mac)


def verify_mac(
    key: KeyArg,
    algorithm: MacAlgorithmOpt,
    mac_file: Annotated[str, typer.Option("--mac", "-m", help="File holding the raw MAC.")],
    source: InputOpt = "-",
    as_json: JsonOpt = False,
) -> None:
    """Verify an HMAC; exit 0 if it is valid, else KMSInvalidMacException (exit 1)."""
    if mac_file == "-" and source == "-":
        raise CliError("the message and the MAC cannot both come from standard input")
    tag = _read_small_file(mac_file, "MAC")
    message = _read_message(source)
    with key_service() as kms:
        result = kms.verify_mac(key_id=key, message=message, mac=tag, mac_algorithm=algorithm)
    _report(as_json, result, "MAC valid")


def _report(as_json: bool, result: Any, human: str) -> None:
    if as_json:
        print_json(to_kms_shape(result))
    else:
        typer.echo(human)


def _import_key_id(kms: KeyService, key: str) -> str:
    """ImportKeyMaterial takes a key id or key ARN: resolve an alias first."""
    if key.startswith("alias/") or ":alias/" in key:
        return kms.describe_key(key_id=key).key_metadata.key_id
    return key


def import_material(
    key: Annotated[str, typer.Argument(help="Key (created with --origin EXTERNAL).")],
    material_file: Annotated[
        str,
        typer.Argument(
            help="Key material: raw bytes (32 for symmetric keys; HMAC keys), or a DER or PEM "
            "private key (RSA, ECC). - for standard input."
        ),
    ],
    wrapping_algorithm: Annotated[
        str | None,
        typer.Option(
            help="RSAES_OAEP_SHA_1|256 or RSA_AES_KEY_WRAP_SHA_1|256 (default: by material)."
        ),
    ] = None,
    wrapping_key_spec: Annotated[
        str, typer.Option(help="RSA_2048, RSA_3072 or RSA_4096.")
    ] = "RSA_4096",
    valid_to: Annotated[
        str | None,
        typer.Option(
            help="When the material expires (ISO 8601, at most 365 days ahead); default never."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import key material: fetch the import parameters, wrap the material with them, import."""
    from envelope.keys.material import import_key_material, read_key_material

    expiry = _parse_valid_to(valid_to)
    with open_input(material_file) as stream:
        material = read_key_material(_read_limited(stream))
    with key_service() as kms:
        result = import_key_material(
            kms,
            key_id=_import_key_id(kms, key),
            material=material,
            wrapping_algorithm=wrapping_algorithm,
            wrapping_key_spec=wrapping_key_spec,
            valid_to=expiry,
        )
    _report(as_json, result, f"imported key material into {result.key_id}")


def _read_limited(stream: BinaryIO) -> bytes:
    data = stream.read(16385)
    if len(data) > 16384:
        raise CliError("the key material file is too large to be key material")
    if not data:
        raise CliError("the key material file is empty")
    return data


def _parse_valid_to(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--valid-to {text!r} is not an ISO 8601 date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def register(app: typer.Typer) -> None:
    """Add these commands to ``envelope key``."""
    app.command("sign")(sign)
    app.command("verify")(verify)
    app.command("mac")(mac)
    app.command("verify-mac")(verify_mac)
    app.command("import")(import_material)
