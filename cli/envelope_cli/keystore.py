"""``envelope keystore ...``: the local keystore itself (where it is, its root key, rekey)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from envelope_cli.common import CliError, print_json, state

if TYPE_CHECKING:
    from envelope.keys.local import LocalKeyService

app = typer.Typer(help="The local keystore: where it is and its root key.", no_args_is_help=True)

NEW_PASSPHRASE_VARIABLE = "ENVELOPE_NEW_PASSPHRASE"  # noqa: S105 - a variable name


def _local_service() -> LocalKeyService:
    """The local key service; these commands have no meaning for AWS KMS."""
    kms = (state.kms or os.environ.get("ENVELOPE_KMS") or "local").strip().lower()
    if kms != "local":
        raise CliError(
            "keystore commands manage the local key service's keystore",
            hint="unset ENVELOPE_KMS or use --kms local",
        )
    from envelope.keys.local import LocalKeyService

    return LocalKeyService()


@app.command("info")
def info(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show where the keystore is, the region and account of its ARNs, and its root-key mode."""
    with _local_service() as kms:
        document = {
            "Home": str(kms.home),
            "Region": kms.region,
            "AccountId": kms.account_id,
            "RootKey": kms.root_mode,
        }
    if as_json:
        print_json(document)
    else:
        for name, value in document.items():
            typer.echo(f"{name + ':':<10} {value}")


def _new_passphrase() -> str:
    """The new passphrase: from ENVELOPE_NEW_PASSPHRASE, else asked twice on the terminal."""
    value = os.environ.get(NEW_PASSPHRASE_VARIABLE)
    if value:
        return value
    if not sys.stdin.isatty():
        raise CliError(
            f"no new passphrase: set {NEW_PASSPHRASE_VARIABLE} or run on a terminal",
            hint="a passphrase is never taken from the command line",
        )
    first = typer.prompt("New passphrase", hide_input=True)
    if typer.prompt("Repeat it", hide_input=True) != first:
        raise CliError("the two passphrases differ; nothing was changed")
    if not first:
        raise CliError("the new passphrase is empty; nothing was changed")
    return str(first)


@app.command("rekey")
def rekey(
    passphrase: Annotated[
        bool,
        typer.Option(
            "--passphrase",
            help=f"Protect the keystore with a new passphrase (from ${NEW_PASSPHRASE_VARIABLE} "
            "or asked on the terminal).",
        ),
    ] = False,
) -> None:
    """Re-wrap every key under a new root key: a new root.key file, or a new passphrase.

    The old root key (or passphrase) opens nothing afterwards. The current one is needed to
    run it (ENVELOPE_PASSPHRASE for a passphrase keystore).
    """
    new = _new_passphrase() if passphrase else None
    with _local_service() as kms:
        kms.rekey(new_passphrase=new)
        mode = kms.root_mode
    where = "a new passphrase" if mode == "passphrase" else "a new root.key file"
    typer.echo(f"rekeyed: every key in {kms.home} is now wrapped under {where}")
