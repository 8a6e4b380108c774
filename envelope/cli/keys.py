"""``envelope key ...``: manage keys in the configured key service, KMS-style."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from envelope.cli.common import key_service, print_json
from envelope.keys.base import (
    KEY_SPECS,
    AliasListEntry,
    KeyListEntry,
    KeyMetadata,
    RotationsListEntry,
)
from envelope.keys.shapes import to_kms_shape

app = typer.Typer(help="Create and manage keys.", no_args_is_help=True)
alias_app = typer.Typer(help="Create, delete and list aliases.", no_args_is_help=True)
app.add_typer(alias_app, name="alias")

KeyArg = Annotated[str, typer.Argument(help="Key id, key ARN, alias name or alias ARN.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the KMS-shaped JSON response.")]


def _emit(as_json: bool, document: Any, human: str) -> None:
    if as_json:
        print_json(document)
    else:
        typer.echo(human)


def _describe(meta: KeyMetadata) -> str:
    lines = [
        f"KeyId:     {meta.key_id}",
        f"Arn:       {meta.arn}",
        f"KeyState:  {meta.key_state}",
        f"KeySpec:   {meta.key_spec}",
        f"Created:   {meta.creation_date.isoformat()}",
    ]
    if meta.description:
        lines.append(f"Description: {meta.description}")
    if meta.deletion_date is not None:
        lines.append(f"Deletion:  {meta.deletion_date.isoformat()}")
    return "\n".join(lines)


@app.command("create")
def create(
    description: Annotated[str, typer.Option(help="Free-text description.")] = "",
    key_spec: Annotated[
        str, typer.Option("--key-spec", help=f"One of {', '.join(KEY_SPECS)}.")
    ] = "SYMMETRIC_DEFAULT",
    alias: Annotated[str | None, typer.Option(help="Also create this alias (alias/NAME).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a key (its material never leaves the key service)."""
    with key_service() as kms:
        result = kms.create_key(description=description, key_spec=key_spec)
        if alias:
            kms.create_alias(alias_name=alias, target_key_id=result.key_metadata.key_id)
    _emit(as_json, to_kms_shape(result), _describe(result.key_metadata))


@app.command("list")
def list_keys(as_json: JsonOpt = False) -> None:
    """List every key."""
    entries: list[KeyListEntry] = []
    with key_service() as kms:
        marker: str | None = None
        while True:
            page = kms.list_keys(marker=marker)
            entries.extend(page.keys)
            if not page.truncated or not page.next_marker:
                break
            marker = page.next_marker
    _emit(
        as_json,
        {"Keys": to_kms_shape(tuple(entries))},
        "\n".join(entry.key_arn for entry in entries),
    )


@app.command("describe")
def describe(key: KeyArg, as_json: JsonOpt = False) -> None:
    """Show a key's metadata."""
    with key_service() as kms:
        result = kms.describe_key(key_id=key)
    _emit(as_json, to_kms_shape(result), _describe(result.key_metadata))


@app.command("rotate")
def rotate(key: KeyArg, as_json: JsonOpt = False) -> None:
    """Rotate a key now: new encryptions use new material; old ciphertexts still decrypt."""
    with key_service() as kms:
        result = kms.rotate_key_on_demand(key_id=key)
    _emit(as_json, to_kms_shape(result), f"rotated {result.key_id}")


@app.command("rotations")
def rotations(key: KeyArg, as_json: JsonOpt = False) -> None:
    """List a key's rotations."""
    entries: list[RotationsListEntry] = []
    with key_service() as kms:
        marker: str | None = None
        while True:
            page = kms.list_key_rotations(key_id=key, marker=marker)
            entries.extend(page.rotations)
            if not page.truncated or not page.next_marker:
                break
            marker = page.next_marker
    human = "\n".join(f"{e.rotation_date.isoformat()}  {e.rotation_type}" for e in entries)
    _emit(as_json, {"Rotations": to_kms_shape(tuple(entries))}, human or "no rotations")


@app.command("rotation-status")
def rotation_status(key: KeyArg, as_json: JsonOpt = False) -> None:
    """Show whether automatic rotation is on, its period and the next date."""
    with key_service() as kms:
        result = kms.get_key_rotation_status(key_id=key)
    human = f"automatic rotation {'enabled' if result.key_rotation_enabled else 'disabled'}"
    if result.key_rotation_enabled and result.next_rotation_date is not None:
        human += (
            f", every {result.rotation_period_in_days} days,"
            f" next {result.next_rotation_date.isoformat()}"
        )
    _emit(as_json, to_kms_shape(result), human)


@app.command("enable")
def enable(key: KeyArg) -> None:
    """Enable a disabled key."""
    with key_service() as kms:
        kms.enable_key(key_id=key)
    typer.echo(f"enabled {key}", err=True)


@app.command("disable")
def disable(key: KeyArg) -> None:
    """Disable a key: it can no longer encrypt or decrypt until enabled."""
    with key_service() as kms:
        kms.disable_key(key_id=key)
    typer.echo(f"disabled {key}", err=True)


@app.command("enable-rotation")
def enable_rotation(
    key: KeyArg,
    period_days: Annotated[
        int | None, typer.Option("--period-days", help="90 to 2560 days (default 365).")
    ] = None,
) -> None:
    """Turn on automatic rotation."""
    with key_service() as kms:
        kms.enable_key_rotation(key_id=key, rotation_period_in_days=period_days)
    typer.echo(f"automatic rotation enabled for {key}", err=True)


@app.command("disable-rotation")
def disable_rotation(key: KeyArg) -> None:
    """Turn off automatic rotation (existing versions stay)."""
    with key_service() as kms:
        kms.disable_key_rotation(key_id=key)
    typer.echo(f"automatic rotation disabled for {key}", err=True)


@app.command("schedule-deletion")
def schedule_deletion(
    key: KeyArg,
    days: Annotated[int, typer.Option(help="Waiting period, 7 to 30 days.")] = 30,
    as_json: JsonOpt = False,
) -> None:
    """Schedule a key for deletion; until then it can be cancelled."""
    with key_service() as kms:
        result = kms.schedule_key_deletion(key_id=key, pending_window_in_days=days)
    _emit(
        as_json,
        to_kms_shape(result),
        f"{result.key_id} will be deleted on {result.deletion_date.isoformat()}",
    )


@app.command("cancel-deletion")
def cancel_deletion(key: KeyArg, as_json: JsonOpt = False) -> None:
    """Cancel a scheduled deletion (the key stays disabled until enabled)."""
    with key_service() as kms:
        result = kms.cancel_key_deletion(key_id=key)
    _emit(as_json, to_kms_shape(result), f"deletion cancelled; {result.key_id} is Disabled")


@alias_app.command("create")
def alias_create(
    name: Annotated[str, typer.Argument(help="alias/NAME")],
    key: KeyArg,
) -> None:
    """Point a new alias at a key."""
    with key_service() as kms:
        kms.create_alias(alias_name=name, target_key_id=key)
    typer.echo(f"created {name}", err=True)


@alias_app.command("delete")
def alias_delete(name: Annotated[str, typer.Argument(help="alias/NAME")]) -> None:
    """Delete an alias (the key is untouched)."""
    with key_service() as kms:
        kms.delete_alias(alias_name=name)
    typer.echo(f"deleted {name}", err=True)


@alias_app.command("list")
def alias_list(
    key: Annotated[str | None, typer.Option("--key", help="Only aliases of this key.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List aliases."""
    entries: list[AliasListEntry] = []
    with key_service() as kms:
        marker: str | None = None
        while True:
            page = kms.list_aliases(key_id=key, marker=marker)
            entries.extend(page.aliases)
            if not page.truncated or not page.next_marker:
                break
            marker = page.next_marker
    human = "\n".join(f"{a.alias_name}  {a.target_key_id or ''}" for a in entries)
    _emit(as_json, {"Aliases": to_kms_shape(tuple(entries))}, human or "no aliases")
