"""``envelope principal ...``: the access keys ``envelope serve`` accepts (SigV4 principals)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from envelope_cli.common import CliError, print_json, print_table, state

if TYPE_CHECKING:  # pragma: no cover
    from envelope.server.principals import Principals

app = typer.Typer(
    help="Create, list and delete the principals (access keys) envelope serve accepts.",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="Principal name (1-64 of letters, digits, +=,.@_-).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@contextlib.contextmanager
def _principals() -> Iterator[Principals]:
    import os

    from envelope.server.principals import Principals

    kms = (state.kms or os.environ.get("ENVELOPE_KMS") or "local").strip().lower()
    if kms != "local":
        raise CliError(
            "principals belong to the local keystore that envelope serve serves",
            hint="run envelope principal without --kms aws (and with ENVELOPE_KMS unset or local)",
        )
    store = Principals()
    try:
        yield store
    finally:
        store.close()


@app.command("create")
def create(name: NameArg, as_json: JsonOpt = False) -> None:
    """Create a principal and print its access key; the secret is shown only this once."""
    with _principals() as store:
        new = store.create(name)
    principal = new.principal
    if as_json:
        print_json({
            "AccessKeyId": principal.access_key_id,
            "SecretAccessKey": new.secret_access_key,
            "Arn": principal.arn,
        })  # fmt: skip
        return
    typer.echo(f"AccessKeyId:     {principal.access_key_id}")
    typer.echo(f"SecretAccessKey: {new.secret_access_key}")
    typer.echo(f"Arn:             {principal.arn}")
    sys.stderr.write("envelope: the secret access key is shown only now; store it safely\n")


@app.command("list")
def list_principals(as_json: JsonOpt = False) -> None:
    """List the principals (never their secrets)."""
    with _principals() as store:
        found = store.list()
    if as_json:
        print_json({"Principals": [
            {"Name": p.name, "Arn": p.arn, "AccessKeyId": p.access_key_id, "Created": p.created}
            for p in found
        ]})  # fmt: skip
    elif found:
        print_table(
            ["Name", "AccessKeyId", "Arn", "Created"],
            [[p.name, p.access_key_id, p.arn, p.created.isoformat()] for p in found],
        )
    else:
        typer.echo("no principals")


@app.command("delete")
def delete(name: NameArg) -> None:
    """Delete a principal: its access key stops working at once."""
    with _principals() as store:
        store.delete(name)
    typer.echo(f"deleted principal {name}")
