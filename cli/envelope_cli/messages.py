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
    CliUsageError,
    atomic_output,
    input_size,
    key_service,
    open_input,
    parse_context,
    print_json,
    terminal_safe,
    verified_output,
)

if TYPE_CHECKING:
    from envelope.keys.base import KeyService
    from envelope.message import KmsKey, MessageInfo, WrappingKey

InputArg = Annotated[str, typer.Argument(help="Input file, or - for standard input.")]
OutputOpt = Annotated[str, typer.Option("--output", "-o", help="Output file, or - for stdout.")]
ContextOpt = Annotated[
    list[str] | None,
    typer.Option("--context", "-c", help="Encryption context pair KEY=VALUE (repeatable)."),
]

KeyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--key",
        "-k",
        help="Only this KMS key may open the message (key id, ARN or alias; repeatable). "
        "Other keys the message names are never asked.",
    ),
]
DiscoveryOpt = Annotated[
    bool,
    typer.Option(
        "--discovery",
        help="Ask the key service for whichever KMS key the message names. The AWS backend "
        "needs this or --key.",
    ),
]
DiscoveryAccountOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--discovery-account",
        help="With --discovery: only keys of this AWS account (repeatable).",
    ),
]
MaxEdksOpt = Annotated[
    int,
    typer.Option(
        "--max-encrypted-data-keys",
        min=1,
        max=65535,
        help="Refuse messages with more encrypted data keys than this, before reading them.",
    ),
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
        if self._recording and data:
            self._recorded += data
        return data  # None (a non-blocking source with nothing ready) passes through

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True


def _message_keys(service: KeyService, key_ids: list[str]) -> list[KmsKey]:
    from envelope.message import KmsKey

    return [KmsKey(service, key_id) for key_id in key_ids]


def _check_key_options(key: list[str] | None, discovery: bool, accounts: list[str] | None) -> None:
    if key and discovery:
        raise CliUsageError("give --key or --discovery, not both")
    if accounts and not discovery:
        raise CliUsageError("--discovery-account needs --discovery")


def _is_local(service: KeyService) -> bool:
    local = sys.modules.get("envelope.keys.local")
    return local is not None and isinstance(service, local.LocalKeyService)


def _unwrapping_keys(
    service: KeyService,
    info: MessageInfo,
    key: list[str] | None,
    discovery: bool,
    accounts: list[str] | None,
) -> list[WrappingKey]:
    """The keys that may open a message: strict (--key), discovery, or the local keystore's.

    aws-kms-keyring.md (strict: only the named keys are asked) and aws-kms-discovery-keyring.md
    (discovery, with an optional account filter). Without either, only the local backend may
    use the keys the header names -- its keystore holds nothing else; any other backend would
    call whatever key ARN a message names (the AWS Encryption CLI advisory GMS-2020-6).
    """
    from envelope.message import KmsDiscovery

    if key:
        return list(_message_keys(service, key))
    if not any(e.provider_id == "aws-kms" for e in info.encrypted_data_keys):
        raise CliError(
            "the message has no data key wrapped by a KMS key",
            hint="raw AES/RSA wrapping keys are for the Python API (envelope.decrypt)",
        )
    if discovery:
        return [KmsDiscovery(service, accounts=accounts or None)]
    if not _is_local(service):
        raise CliUsageError(
            "name the keys that may open the message: --key KEY (repeatable), or --discovery "
            "[--discovery-account ACCOUNT] to ask for whichever key the message names",
            hint="with the AWS backend a message could otherwise make envelope call any "
            "account's key",
        )
    return [KmsDiscovery(service)]


def _read_header(raw: BinaryIO, max_edks: int) -> tuple[BinaryIO, MessageInfo]:
    """Read the header (with the EDK cap) and return a stream rewound to the message start."""
    from envelope.message import inspect

    replay = _Replay(raw)
    src = cast(BinaryIO, replay)
    info = inspect(src, max_encrypted_data_keys=max_edks)
    replay.rewind()
    return src, info


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
    key: KeyOpt = None,
    discovery: DiscoveryOpt = False,
    discovery_account: DiscoveryAccountOpt = None,
    unsigned_only: Annotated[
        bool,
        typer.Option(
            "--unsigned-only",
            help="Refuse signed messages right after the header, before any key is asked.",
        ),
    ] = False,
    allow_legacy: Annotated[
        bool, typer.Option(help="Also accept the older suites without key commitment.")
    ] = False,
    max_encrypted_data_keys: MaxEdksOpt = 10,
) -> None:
    """Decrypt an AWS Encryption SDK message; no output appears unless it authenticates.

    A signed message decrypted to standard output is spooled to a private temporary file and
    copied out only after its signature verified.
    """
    from envelope.message import decrypt_stream

    encryption_context = parse_context(context)
    _check_key_options(key, discovery, discovery_account)
    with key_service() as kms, open_input(source) as raw:
        src, info = _read_header(raw, max_encrypted_data_keys)
        keys = _unwrapping_keys(kms, info, key, discovery, discovery_account)
        with (
            verified_output(output, spool=info.signed) as dst,
            _progress(raw, "decrypting") as progress,
        ):
            decrypt_stream(
                src,
                dst,
                keys=keys,
                encryption_context=encryption_context,
                allow_legacy=allow_legacy,
                max_encrypted_data_keys=max_encrypted_data_keys,
                signed=not unsigned_only,
                progress=progress,
            )


def rewrap(
    files: Annotated[list[str], typer.Argument(help="Message files, rewritten in place.")],
    to: Annotated[
        str | None,
        typer.Option("--to", help="Wrap under this key (default: each key's newest version)."),
    ] = None,
    key: KeyOpt = None,
    discovery: DiscoveryOpt = False,
    discovery_account: DiscoveryAccountOpt = None,
    max_encrypted_data_keys: MaxEdksOpt = 10,
) -> None:
    """Re-wrap the data keys of messages (header only; the body bytes stay as they are)."""
    from envelope.message import rewrap as rewrap_message

    _check_key_options(key, discovery, discovery_account)
    with key_service() as kms:
        targets = _message_keys(kms, [to]) if to else None
        for path in files:
            with open_input(path) as raw, atomic_output(path) as dst:
                src, info = _read_header(raw, max_encrypted_data_keys)
                keys = _unwrapping_keys(kms, info, key, discovery, discovery_account)
                new = rewrap_message(
                    src, dst, keys=keys, to=targets, max_encrypted_data_keys=max_encrypted_data_keys
                )
            arns = ", ".join(e.provider_info for e in new.encrypted_data_keys)
            typer.echo(f"rewrapped {path}: {arns}", err=True)  # stdout may be the message


def inspect_command(
    source: InputArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    key: KeyOpt = None,
    discovery: DiscoveryOpt = False,
    discovery_account: DiscoveryAccountOpt = None,
    context: ContextOpt = None,
    max_encrypted_data_keys: MaxEdksOpt = 10,
) -> None:
    """Show a message's header: suite, context, key ids, frame length (nothing secret).

    With --key or --discovery the header is authenticated first (the data key is unwrapped and
    the key commitment and header tag are checked); without them nothing is asked of any key
    and the header is shown as the message claims it.
    """
    from envelope.message import inspect

    _check_key_options(key, discovery, discovery_account)
    encryption_context = parse_context(context)
    with open_input(source) as raw:
        if not key and not discovery:
            info = inspect(raw, max_encrypted_data_keys=max_encrypted_data_keys)
        else:
            with key_service() as kms:
                src, claimed = _read_header(raw, max_encrypted_data_keys)
                keys = _unwrapping_keys(kms, claimed, key, discovery, discovery_account)
                info = inspect(
                    src,
                    keys=keys,
                    encryption_context=encryption_context,
                    max_encrypted_data_keys=max_encrypted_data_keys,
                )
    if as_json:
        print_json(info.to_json())
        return
    typer.echo(_describe_message(info))


def _describe_message(info: MessageInfo) -> str:
    kind = f"signed, {info.signature_algorithm}" if info.signed else "unsigned"
    content = info.content_type
    if content == "framed":
        content += f", {info.frame_length}-byte frames"
    safe = terminal_safe  # the context and provider fields are whoever made the file's choice
    context = ", ".join(f"{safe(k)}={safe(v)}" for k, v in sorted(info.encryption_context.items()))
    lines = [
        f"{'Format:':<12} ESDK message version {info.version}",
        f"{'Suite:':<12} 0x{info.suite_id:04x} {info.suite_name} ({kind})",
        f"{'Message id:':<12} {info.message_id}",
        f"{'Content:':<12} {content}",
        f"{'Context:':<12} {context or '(none)'}",
        f"{'Verified:':<12} "
        + ("yes (key commitment and header tag)" if info.verified else "no (no key was asked)"),
    ]
    for n, edk in enumerate(info.encrypted_data_keys):
        label = "Data keys:" if n == 0 else ""
        lines.append(f"{label:<12} {safe(edk.provider_id)}  {safe(edk.provider_info)}")
    return "\n".join(lines)

