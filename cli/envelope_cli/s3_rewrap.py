"""``envelope s3 rewrap``: move objects' data keys to a key's newest version (or another key),
rewriting only their metadata; progress on stderr, a summary at the end."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from envelope_cli.common import CliError, key_service, print_json

if TYPE_CHECKING:
    from envelope.s3 import RewrapFailure, RewrapResult


def _parse_target(url: str) -> tuple[str, str]:
    bucket, _, rest = url.removeprefix("s3://").partition("/")
    if not url.startswith("s3://") or not bucket:
        raise CliError(f"{url!r} is not of the form s3://BUCKET/KEY or s3://BUCKET/PREFIX")
    return bucket, rest


def _is_object(s3: Any, bucket: str, key: str) -> bool:
    """A key that names an object is rewrapped alone; otherwise it is a prefix."""
    from botocore.exceptions import ClientError

    if not key or key.endswith("/"):
        return False
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


@contextlib.contextmanager
def _progress(label: str) -> Iterator[Callable[[Any], None] | None]:
    """A rich counter on stderr while objects are rewrapped, when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}: {task.completed} objects"))
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda _outcome: bar.advance(task, 1)


def _line(result: RewrapResult) -> str:
    where = f"s3://{result.bucket}/{result.key}"
    if result.status == "skipped":
        return f"skipped {where}: {result.reason}"
    verb = "would rewrap" if result.status == "dry run" else "rewrapped"
    moved = f"{result.wrap_alg_before} -> {result.wrap_alg_after}"
    if result.key_id_after:
        moved += f" {result.key_id_after}"
    return f"{verb} {where} ({result.format}, {result.method}, {moved})"


def _failure(failure: RewrapFailure) -> str:
    return f"s3://{failure.bucket}/{failure.key}: {failure.error}: {failure.message}"


def rewrap(
    url: Annotated[
        str,
        typer.Argument(help="s3://BUCKET/KEY (one object) or s3://BUCKET/PREFIX (every object)."),
    ],
    to: Annotated[
        str | None,
        typer.Option("--to", help="Move the data keys to this KMS key (id, ARN or alias)."),
    ] = None,
    key: Annotated[
        list[str] | None,
        typer.Option("--key", "-k", help="The KMS key that wrapped the objects (repeatable)."),
    ] = None,
    discovery: Annotated[
        bool, typer.Option("--discovery", help="With --to: let any key of the service unwrap.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check everything, write nothing to S3.")
    ] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="Objects rewrapped at once.")
    ] = 8,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable summary.")] = False,
) -> None:
    """Rewrap objects after a key rotation (or onto --to KEY), rewriting only their metadata.

    Bodies, ETags, content types and tags stay. Without --to, --key names the key whose newest
    version the data keys move to.
    """
    from envelope.message import KmsKey
    from envelope.s3 import EncryptedS3Client, open_s3_client
    from envelope_cli.s3 import _read_keys, _s3_errors

    bucket, target = _parse_target(url)
    if to is None and not key:
        raise CliError(
            "give --key KEY (the key whose data keys move to its newest version)",
            hint="or --to KEY to move them to another key",
        )
    with key_service() as kms, _s3_errors():
        client = EncryptedS3Client(
            open_s3_client(), keys=_read_keys(kms, key, discovery), max_concurrency=4
        )
        destination = None if to is None else KmsKey(kms, to)
        if _is_object(client.s3_client, bucket, target):
            result = client.rewrap_object(bucket, target, to=destination, dry_run=dry_run)
            if json:
                print_json(result.to_dict())
            sys.stderr.write(f"envelope: {_line(result)}\n")
            return
        with _progress("rewrapping") as progress:
            summary = client.rewrap_prefix(
                bucket,
                target,
                to=destination,
                dry_run=dry_run,
                max_concurrency=concurrency,
                on_result=progress,
            )
    if json:
        print_json(summary.to_dict())
    done = summary.count("dry run") if dry_run else summary.rewrapped
    total = len(summary.results) + summary.failed
    if total == 0:
        raise CliError(f"no object under s3://{bucket}/{target}")
    verb = "would rewrap" if dry_run else "rewrapped"
    sys.stderr.write(
        f"envelope: {verb} {done} of {total} object(s) under s3://{bucket}/{target}; "
        f"skipped {summary.skipped}, failed {summary.failed}\n"
    )
    for failure in summary.failures:
        sys.stderr.write(f"envelope: failed {_failure(failure)}\n")
    if summary.failures:
        raise CliError(
            f"{summary.failed} object(s) could not be rewrapped; each was left as it was"
        )
