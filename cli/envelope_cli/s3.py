"""``envelope s3 put|get|head`` (and ``rewrap``, ``presign``): client-side encrypted S3 objects.

envelope.s3 and boto3 are imported inside each command, so other commands never load them.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, cast

import typer

from envelope_cli import s3_rewrap, s3_urls
from envelope_cli.common import (
    CliError,
    atomic_output,
    input_size,
    key_service,
    open_input,
    parse_context,
    print_json,
    refuse_terminal,
)

if TYPE_CHECKING:
    from envelope.keys.base import KeyService
    from envelope.s3 import EncryptedS3Client, S3ObjectInfo

app = typer.Typer(
    help="Client-side encrypted S3 objects, readable by the AWS S3 Encryption Clients.",
    no_args_is_help=True,
)

UrlArg = Annotated[str, typer.Argument(help="The object: s3://BUCKET/KEY.")]
ContextOpt = Annotated[
    list[str] | None,
    typer.Option("--context", "-c", help="Encryption context pair KEY=VALUE (repeatable)."),
]
_PROGRESS_THRESHOLD = 16 * 1024 * 1024


def _parse_url(url: str) -> tuple[str, str]:
    bucket, sep, key = url.removeprefix("s3://").partition("/")
    if not url.startswith("s3://") or not sep or not bucket or not key:
        raise CliError(f"{url!r} is not an object URL of the form s3://BUCKET/KEY")
    return bucket, key


@contextlib.contextmanager
def _s3_errors() -> Iterator[None]:
    """S3's own refusals (no such bucket or key, access denied, no endpoint) as one error line."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as e:
        error = e.response.get("Error", {})
        code = error.get("Code") or "S3Error"
        raise CliError(f"S3 {code}: {error.get('Message') or code}") from None
    except BotoCoreError as e:
        raise CliError(f"S3 client: {e}") from None


@contextlib.contextmanager
def _progress(total: int | None, label: str) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on stderr for large transfers, when stderr is a terminal."""
    if total is None or total < _PROGRESS_THRESHOLD or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _client(keys: list[Any], **options: Any) -> EncryptedS3Client:
    from envelope.s3 import EncryptedS3Client, open_s3_client

    return EncryptedS3Client(open_s3_client(), keys=keys, **options)


def _read_keys(service: KeyService, key_ids: list[str] | None, discovery: bool) -> list[Any]:
    """Strict by default: only the ``--key`` keys are asked. Without ``--key``, the local keystore
    may use any of its own keys; another backend needs ``--discovery`` to do the same."""
    from envelope.message import KmsKey
    from envelope.s3 import KmsDiscoveryKeyring

    if key_ids:
        return [KmsKey(service, key_id) for key_id in key_ids]
    from envelope.keys.local import LocalKeyService

    if discovery or isinstance(service, LocalKeyService):
        return [KmsDiscoveryKeyring(service)]
    raise CliError(
        "give --key KEY (the KMS key that wrapped the object)",
        hint="or --discovery to let any key of the key service try",
    )


def put(
    source: Annotated[str, typer.Argument(help="Input file, or - for standard input.")],
    url: UrlArg,
    key: Annotated[str, typer.Option("--key", "-k", help="KMS key id, ARN or alias.")],
    context: ContextOpt = None,
    format: Annotated[
        str, typer.Option("--format", help="v3 (key-committing, default) or v2.")
    ] = "v3",
    instruction_file: Annotated[
        bool,
        typer.Option("--instruction-file", help="Keep the metadata in KEY.instruction."),
    ] = False,
) -> None:
    """Encrypt a file (or stdin) into an S3 object; large inputs go up in parts."""
    from envelope.message import KmsKey

    bucket, object_key = _parse_url(url)
    if format.lower() not in ("v3", "v2"):
        raise CliError(f"--format must be v3 or v2, not {format!r}")
    ctx = parse_context(context)
    with key_service() as kms, _s3_errors(), open_input(source) as src:
        # Three 8 MiB parts in flight keep a 1 GiB upload near 120 MB RSS (tests/cli).
        client = _client(
            [KmsKey(kms, key)],
            format=format.lower(),
            instruction_file=instruction_file,
            max_concurrency=3,
        )
        with _progress(input_size(src), "encrypting") as progress:
            client.upload_fileobj(src, bucket, object_key, Callback=progress, EncryptionContext=ctx)


def get(
    url: UrlArg,
    output: Annotated[str, typer.Option("--output", "-o", help="Output file, or - for stdout.")],
    context: ContextOpt = None,
    key: Annotated[
        list[str] | None,
        typer.Option("--key", "-k", help="Only this KMS key may unwrap (repeatable)."),
    ] = None,
    discovery: Annotated[
        bool, typer.Option("--discovery", help="Let any key of the key service try.")
    ] = False,
    byte_range: Annotated[
        str | None,
        typer.Option(
            "--range",
            help="Only plaintext bytes FIRST-LAST (or FIRST-); NOT authenticated, so it needs "
            "--allow-unauthenticated.",
        ),
    ] = None,
    allow_unauthenticated: Annotated[
        bool,
        typer.Option(
            "--allow-unauthenticated",
            help="Allow --range: its bytes are decrypted with AES-CTR and not checked.",
        ),
    ] = False,
) -> None:
    """Decrypt an S3 object; nothing is written before its tag verifies.

    A --range cannot be verified, so it needs --allow-unauthenticated.
    """
    bucket, object_key = _parse_url(url)
    ctx = parse_context(context)
    if byte_range is not None:
        _get_range(
            bucket, object_key, output, ctx, key, discovery, byte_range, allow_unauthenticated
        )
        return
    target = None if output == "-" else Path(output)
    if target is None:
        refuse_terminal(sys.stdout)
    elif (target.exists() and not target.is_file()) or not target.parent.is_dir():
        raise CliError(
            f"cannot write {output}: not a regular file in an existing folder",
            hint="for a device or pipe, use -o - and redirect standard output",
        )
    with key_service() as kms, _s3_errors():
        client = _client(_read_keys(kms, key, discovery))
        total = None
        if sys.stderr.isatty():
            total = int(client.head_object(Bucket=bucket, Key=object_key)["ContentLength"])
        with _progress(total, "decrypting") as progress:
            if target is None:
                # Spooled to a private temporary file, copied to stdout once authenticated.
                client.download_fileobj(
                    bucket,
                    object_key,
                    cast(BinaryIO, sys.stdout.buffer),
                    Callback=progress,
                    EncryptionContext=ctx,
                )
                sys.stdout.buffer.flush()
            else:
                client.download_file(
                    bucket, object_key, str(target), Callback=progress, EncryptionContext=ctx
                )


def _get_range(
    bucket: str,
    object_key: str,
    output: str,
    ctx: dict[str, str] | None,
    key: list[str] | None,
    discovery: bool,
    byte_range: str,
    allowed: bool,
) -> None:
    """``get --range``: one GetObject of the blocks that hold the range, AES-CTR, no tag check."""
    if not allowed:
        raise CliError(
            "--range releases plaintext that is not authenticated (AES-CTR over the object's "
            "key stream; a tampered range decrypts to wrong bytes without an error)",
            hint="add --allow-unauthenticated to accept that",
        )
    if not re.fullmatch(r"\d+-\d*", byte_range):
        raise CliError(f"--range must be FIRST-LAST or FIRST- (byte offsets), not {byte_range!r}")
    with key_service() as kms, _s3_errors():
        client = _client(_read_keys(kms, key, discovery), allow_unauthenticated_ranges=True)
        with atomic_output(output) as handle:
            client.download_range(
                bucket, object_key, f"bytes={byte_range}", handle, EncryptionContext=ctx
            )


def head(
    url: UrlArg,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show how an object is encrypted (format, wrapping, context, sizes); nothing secret."""
    from envelope.s3 import inspect_object, open_s3_client

    bucket, object_key = _parse_url(url)
    with _s3_errors():
        info = inspect_object(open_s3_client(), Bucket=bucket, Key=object_key)
    if json:
        print_json(info.to_dict())
    else:
        sys.stdout.write(_describe(info))


def _describe(info: S3ObjectInfo) -> str:
    cipher = {
        "115": "115 AES-256-GCM, HKDF-SHA512, key commitment (suite 0x0073)",
        "AES/GCM/NoPadding": "AES/GCM/NoPadding (no key commitment)",
        "AES/CBC/PKCS5Padding": "AES/CBC/PKCS5Padding (legacy, unauthenticated)",
    }.get(info.content_cipher, info.content_cipher)
    context = ", ".join(f"{k}={v}" for k, v in sorted(info.context.items())) or "(none)"
    plain = "unknown" if info.plaintext_size is None else f"{info.plaintext_size} bytes"
    lines = [
        f"Object:      s3://{info.bucket}/{info.key}",
        f"Format:      S3 Encryption Client {info.format}",
        f"Content:     {cipher}",
        f"Wrapping:    {info.wrap_alg}",
        f"Context:     {context}",
        f"Metadata:    {info.metadata_location}",
        f"Size:        {info.size} bytes stored, {plain} plaintext",
    ]
    if info.message_id:
        lines.append(f"Message id:  {info.message_id}")
    return "\n".join(lines) + "\n"


app.command("put")(put)
app.command("get")(get)
app.command("head")(head)
app.command("rewrap")(s3_rewrap.rewrap)
app.command("presign")(s3_urls.presign)
