"""``envelope encrypt|decrypt|inspect|rewrap``: ESDK-format messages from the command line.

The message package is imported inside each command, so ``envelope key ...`` never loads it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, cast

import typer

from envelope_cli.common import (
    CliError,
    atomic_output,
    input_size,
    key_service,
    open_input,
    parse_context,
    print_json,
)

if TYPE_CHECKING:
    from envelope.keys.base import KeyService
    from envelope.message import KmsKey, MessageInfo

InputArg = Annotated[str, typer.Argument(help="Input file, or - for standard input.")]
OutputOpt = Annotated[str, typer.Option("--output", "-o", help="Output file, or - for stdout.")]
ContextOpt = Annotated[
    list[str] | None,
    typer.Option("--context", "-c", help="Encryption context pair KEY=VALUE (repeatable)."),
]

# Inputs smaller than this finish before a progress bar would be worth drawing.
_PROGRESS_THRESHOLD = 16 * 1024 * 1024


@contextlib.contextmanager
def _progress(source: BinaryIO, label: str) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on stderr for large regular files, when stderr is a terminal."""
    total = input_size(source)
    if total is None or total < _PROGRESS_THRESHOLD or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


class _Replay:
    """A reader that records what it gives out until ``rewind()``, then gives it out again.

    It lets the CLI read a message header (to learn which keys wrapped the data key) from a
    stream that cannot seek, such as standard input, and then decrypt the whole message.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._recorded = bytearray()
        self._recording = True
        self._replay = memoryview(b"")

    def rewind(self) -> None:
        self._recording = False
        self._replay = memoryview(bytes(self._recorded))
        self._recorded = bytearray()

    def read(self, size: int = -1) -> bytes:
        if self._replay.nbytes:
            if size is None or size < 0:
                head = bytes(self._replay)
                self._replay = memoryview(b"")
                return head + self._raw.read()
            head = bytes(self._replay[:size])
            self._replay = self._replay[len(head) :]
            if len(head) < size:
                head += self._raw.read(size - len(head))
            return head
        data = self._raw.read(size)
        if self._recording:
            self._recorded += data
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True


def _message_keys(service: KeyService, arns: list[str]) -> list[KmsKey]:
    from envelope.message import KmsKey

    return [KmsKey(service, arn) for arn in arns]


def encrypt(
    source: InputArg = "-",
    output: OutputOpt = ...,  # type: ignore[assignment]
    key: Annotated[
        list[str],
        typer.Option("--key", "-k", help="Key id, ARN or alias to wrap the data key (repeatable)."),
    ] = ...,  # type: ignore[assignment]
    context: ContextOpt = None,
    suite: Annotated[
        str, typer.Option(help="0x0478 (committing, default) or 0x0578 (also ECDSA-signed).")
    ] = "0x0478",
    frame_length: Annotated[int, typer.Option(help="Frame length in bytes.")] = 65536,
) -> None:
    """Encrypt a file into an AWS Encryption SDK message."""
    from envelope.message import encrypt_stream

    try:
        suite_id = int(suite, 0)
    except ValueError:
        raise CliError(f"suite {suite!r} is not a number such as 0x0478") from None
    encryption_context = parse_context(context)
    with key_service() as kms, open_input(source) as src, atomic_output(output) as dst:
        keys = _message_keys(kms, key)
        with _progress(src, "encrypting") as progress:
            encrypt_stream(
                src,
                dst,
                keys=keys,
                encryption_context=encryption_context,
                suite=suite_id,
                frame_length=frame_length,
                progress=progress,
            )


def decrypt(
    source: InputArg = "-",
    output: OutputOpt = ...,  # type: ignore[assignment]
    context: ContextOpt = None,
    allow_legacy: Annotated[
        bool, typer.Option(help="Also accept the older suites without key commitment.")
    ] = False,
) -> None:
    """Decrypt an AWS Encryption SDK message; no output appears unless it authenticates."""
    from envelope.message import decrypt_stream

    encryption_context = parse_context(context)
    with key_service() as kms, open_input(source) as raw, atomic_output(output) as dst:
        src, keys = _keys_of_message(kms, raw)
        with _progress(raw, "decrypting") as progress:
            decrypt_stream(
                src,
                dst,
                keys=keys,
                encryption_context=encryption_context,
                allow_legacy=allow_legacy,
                progress=progress,
            )


def _keys_of_message(kms: KeyService, raw: BinaryIO) -> tuple[BinaryIO, list[KmsKey]]:
    """Read the header for the ARNs of its ``aws-kms`` data keys; return a rewound stream."""
    from envelope.message import inspect

    replay = _Replay(raw)
    src = cast(BinaryIO, replay)
    info = inspect(src)
    replay.rewind()
    arns = [e.provider_info for e in info.encrypted_data_keys if e.provider_id == "aws-kms"]
    if not arns:
        raise CliError(
            "the message has no data key wrapped by a KMS key",
            hint="raw AES/RSA wrapping keys are for the Python API (envelope.decrypt)",
        )
    return src, _message_keys(kms, arns)


def rewrap(
    files: Annotated[list[str], typer.Argument(help="Message files, rewritten in place.")],
    to: Annotated[
        str | None,
        typer.Option("--to", help="Wrap under this key (default: each key's newest version)."),
    ] = None,
) -> None:
    """Re-wrap the data keys of messages (header only; the body bytes stay as they are)."""
    from envelope.message import rewrap as rewrap_message

    with key_service() as kms:
        targets = _message_keys(kms, [to]) if to else None
        for path in files:
            with open_input(path) as raw, atomic_output(path) as dst:
                src, keys = _keys_of_message(kms, raw)
                info = rewrap_message(src, dst, keys=keys, to=targets)
            arns = ", ".join(e.provider_info for e in info.encrypted_data_keys)
            typer.echo(f"rewrapped {path}: {arns}", err=True)  # stdout may be the message


def inspect_command(
    source: InputArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a message's header: suite, context, key ids, frame length (nothing secret)."""
    from envelope.message import inspect

    with open_input(source) as src:
        info = inspect(src)
    if as_json:
        print_json(info.to_json())
        return
    typer.echo(_describe_message(info))


def _describe_message(info: MessageInfo) -> str:
    kind = "signed (ECDSA P-384)" if info.signed else "unsigned"
    content = info.content_type
    if content == "framed":
        content += f", {info.frame_length}-byte frames"
    context = ", ".join(f"{k}={v}" for k, v in sorted(info.encryption_context.items()))
    lines = [
        f"{'Format:':<12} ESDK message version {info.version}",
        f"{'Suite:':<12} 0x{info.suite_id:04x} {info.suite_name} ({kind})",
        f"{'Message id:':<12} {info.message_id}",
        f"{'Content:':<12} {content}",
        f"{'Context:':<12} {context or '(none)'}",
    ]
    for n, edk in enumerate(info.encrypted_data_keys):
        label = "Data keys:" if n == 0 else ""
        lines.append(f"{label:<12} {edk.provider_id}  {edk.provider_info}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add the message commands to the top-level app."""
    app.command("encrypt")(encrypt)
    app.command("decrypt")(decrypt)
    app.command("inspect")(inspect_command)
    app.command("rewrap")(rewrap)
