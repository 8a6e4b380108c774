"""``envelope s3 presign`` and ``envelope decrypt-url``: share an encrypted object by a pre-signed
URL (which yields only ciphertext) and read it back with the keys."""

from __future__ import annotations

import sys
from typing import Annotated, BinaryIO, cast

import typer

from envelope_cli.common import (
    atomic_output,
    key_service,
    parse_context,
    print_json,
    refuse_terminal,
)

_MAX_EXPIRES = 7 * 24 * 3600


def presign(
    url: Annotated[str, typer.Argument(help="The object: s3://BUCKET/KEY.")],
    expires: Annotated[
        int,
        typer.Option("--expires", min=1, max=_MAX_EXPIRES, help="Seconds the URL is valid."),
    ] = 3600,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Print a pre-signed GET URL of an encrypted object (it yields only ciphertext).

    For an object whose metadata is in an instruction file, a second line holds that file's
    URL (give it to decrypt-url --instruction-url).
    """
    from envelope.s3 import open_s3_client
    from envelope.s3.presign import presign_get
    from envelope_cli.s3 import _parse_url, _s3_errors

    bucket, key = _parse_url(url)
    with _s3_errors():
        signed = presign_get(open_s3_client(), bucket, key, expires_in=expires)
    if json:
        print_json(signed.to_dict())
        return
    sys.stdout.write(signed.url + "\n")
    if signed.instruction_url:
        sys.stdout.write(signed.instruction_url + "\n")


def decrypt_url(
    url: Annotated[str, typer.Argument(help="A pre-signed GET URL of an encrypted object.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Output file, or - for stdout.")],
    instruction_url: Annotated[
        str | None,
        typer.Option("--instruction-url", help="The pre-signed URL of its instruction file."),
    ] = None,
    context: Annotated[
        list[str] | None,
        typer.Option("--context", "-c", help="Encryption context pair KEY=VALUE (repeatable)."),
    ] = None,
    key: Annotated[
        list[str] | None,
        typer.Option("--key", "-k", help="Only this KMS key may unwrap (repeatable)."),
    ] = None,
    discovery: Annotated[
        bool, typer.Option("--discovery", help="Let any key of the key service try.")
    ] = False,
) -> None:
    """Fetch a pre-signed URL and decrypt the object; nothing is written before it verifies.

    A plain HTTP GET: no S3 credentials are needed, only the keys.
    """
    from envelope.s3 import EncryptedS3Client
    from envelope_cli.s3 import _read_keys

    ctx = parse_context(context)
    if output == "-":
        refuse_terminal(sys.stdout)
    with key_service() as kms:
        # No S3 client: the URL is fetched with urllib, so boto3 is never loaded here.
        client = EncryptedS3Client(None, keys=_read_keys(kms, key, discovery))
        if output == "-":
            client.download_url(
                url,
                cast(BinaryIO, sys.stdout.buffer),
                InstructionUrl=instruction_url,
                EncryptionContext=ctx,
            )
            sys.stdout.buffer.flush()
            return
        with atomic_output(output) as handle:
            # Into a temporary file that is renamed only once the tag verified.
            client.download_url(
                url,
                handle,
                InstructionUrl=instruction_url,
                EncryptionContext=ctx,
                release_unauthenticated=True,
            )
