"""``envelope key ...``: manage keys in the configured key service, KMS-style."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from envelope.errors import AccessDeniedException, AlreadyExistsException, EnvelopeError
from envelope.keys.base import (
    KEY_SPECS,
    AliasListEntry,
    KeyListEntry,
    KeyMetadata,
    KeyService,
    RotationsListEntry,
)
from envelope.keys.shapes import to_kms_shape
from envelope.keys.validate import check_alias_name
from envelope_cli.common import (
    CliError,
    every_page,
    key_service,
    print_json,
    print_table,
    terminal_safe,
)
from envelope_cli.key_access import all_tags, grant_app, policy_app, tag, tags, untag

app = typer.Typer(help="Create and manage keys.", no_args_is_help=True)
alias_app = typer.Typer(help="Create, update, delete and list aliases.", no_args_is_help=True)
app.add_typer(alias_app, name="alias")
app.add_typer(policy_app, name="policy")
app.add_typer(grant_app, name="grant")
app.command("tag")(tag)
app.command("untag")(untag)
app.command("tags")(tags)

KeyArg = Annotated[str, typer.Argument(help="Key id, key ARN, alias name or alias ARN.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the KMS-shaped JSON response.")]


def _emit(as_json: bool, document: Any, human: str) -> None:
    if as_json:
        print_json(document)
    else:
        typer.echo(human)


def _describe(meta: KeyMetadata) -> str:
    fields = [
        ("KeyId", meta.key_id),
        ("Arn", meta.arn),
        ("KeyState", meta.key_state),
        ("KeySpec", meta.key_spec),
        ("KeyUsage", meta.key_usage),
        ("Origin", meta.origin if meta.origin != "AWS_KMS" else None),
        ("ValidTo", meta.valid_to.isoformat() if meta.valid_to else None),
        ("Created", meta.creation_date.isoformat()),
        ("Description", meta.description or None),
        ("DeletionDate", meta.deletion_date.isoformat() if meta.deletion_date else None),
    ]
    return "\n".join(
        f"{name + ':':<13} {terminal_safe(value)}" for name, value in fields if value is not None
    )


def _key_id(kms: KeyService, key: str) -> str:
    """Resolve an alias for the operations where KMS takes only a key id or key ARN."""
    if key.startswith("alias/") or ":alias/" in key:
        return kms.describe_key(key_id=key).key_metadata.key_id
    return key


def _parse_tags(pairs: list[str]) -> list[dict[str, str]]:
    tags: list[dict[str, str]] = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CliError(f"tag {pair!r} is not of the form KEY=VALUE")
        tags.append({"TagKey": name, "TagValue": value})
    return tags


def _default_usage(key_spec: str) -> str:
    """The usage a key spec most likely means (KMS itself wants it named for non-AES keys)."""
    if key_spec.startswith("HMAC_"):
        return "GENERATE_VERIFY_MAC"
    if key_spec.startswith("ECC_"):
        return "SIGN_VERIFY"
    return "ENCRYPT_DECRYPT"


@app.command("create")
def create(
    description: Annotated[str, typer.Option(help="Free-text description.")] = "",
    key_spec: Annotated[
        str, typer.Option("--key-spec", help=f"One of {', '.join(KEY_SPECS)}.")
    ] = "SYMMETRIC_DEFAULT",
    key_usage: Annotated[
        str | None,
        typer.Option(
            "--key-usage",
            help="ENCRYPT_DECRYPT, SIGN_VERIFY or GENERATE_VERIFY_MAC (default: HMAC keys "
            "GENERATE_VERIFY_MAC, ECC keys SIGN_VERIFY, others ENCRYPT_DECRYPT).",
        ),
    ] = None,
    origin: Annotated[
        str, typer.Option(help="AWS_KMS, or EXTERNAL for a key that waits for `key import`.")
    ] = "AWS_KMS",
    tag: Annotated[
        list[str] | None,
        typer.Option(
            "--tag",
            help="Tag KEY=VALUE (repeatable). Locally, _custom_id_=UUID fixes the key id.",
        ),
    ] = None,
    alias: Annotated[str | None, typer.Option(help="Also create this alias (alias/NAME).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a key (its material never leaves the key service)."""
    tags = _parse_tags(tag or [])
    with key_service() as kms:
        if alias:
            _refuse_taken_alias(kms, alias)
        result = kms.create_key(
            description=description,
            key_spec=key_spec,
            key_usage=key_usage or _default_usage(key_spec),
            origin=origin,
            tags=tags or None,
        )
        if alias:
            key_id = result.key_metadata.key_id
            try:
                kms.create_alias(alias_name=alias, target_key_id=key_id)
            except EnvelopeError as e:
                raise CliError(
                    f"created key {key_id} but not its alias: {type(e).__name__}: {e}",
                    hint=f"envelope key alias create ALIAS {key_id}",
                ) from e
    _emit(as_json, to_kms_shape(result), _describe(result.key_metadata))


def _refuse_taken_alias(kms: KeyService, alias: str) -> None:
    """Fail before creating a key whose alias could not be created (no orphan key)."""
    check_alias_name(alias)  # a malformed or reserved name, refused before anything is made
    page = kms.list_aliases()
    while True:
        if any(entry.alias_name == alias for entry in page.aliases):
            raise AlreadyExistsException(f"An alias with the name {alias} already exists")
        if not page.truncated or not page.next_marker:
            return
        page = kms.list_aliases(marker=page.next_marker)


@app.command("list")
def list_keys(as_json: JsonOpt = False) -> None:
    """List every key (with state, spec and aliases unless --json)."""
    rows: list[list[str]] = []
    with key_service() as kms:
        entries: list[KeyListEntry] = every_page(
            lambda marker: kms.list_keys(marker=marker), "keys"
        )
        if not as_json:
            names: dict[str, list[str]] = {}
            for alias in _all_aliases(kms, None):
                if alias.target_key_id:
                    names.setdefault(alias.target_key_id, []).append(alias.alias_name)
            for entry in entries:
                aliases = ", ".join(sorted(names.get(entry.key_id, ())))
                try:
                    m = kms.describe_key(key_id=entry.key_id).key_metadata
                except AccessDeniedException:  # its policy does not let the caller describe it
                    rows.append([entry.key_id, "(no access)", "", aliases, ""])
                    continue
                rows.append([entry.key_id, m.key_state, m.key_spec, aliases, m.description])
    if as_json:
        print_json({"Keys": to_kms_shape(tuple(entries))})
    elif rows:
        print_table(["KeyId", "State", "Spec", "Aliases", "Description"], rows)
    else:
        typer.echo("no keys")


def _all_aliases(kms: KeyService, key: str | None) -> list[AliasListEntry]:
    return every_page(lambda marker: kms.list_aliases(key_id=key, marker=marker), "aliases")


@app.command("describe")
def describe(key: KeyArg, as_json: JsonOpt = False) -> None:
    """Show a key's metadata and tags (the tags only if you may list them)."""
    with key_service() as kms:
        result = kms.describe_key(key_id=key)
        found = all_tags(kms, result.key_metadata.key_id)
    document = to_kms_shape(result)
    human = _describe(result.key_metadata)
    if found is not None:
        document["Tags"] = to_kms_shape(tuple(found))
        if found:
            listed = ", ".join(f"{t.tag_key}={t.tag_value}" for t in found)
            human += "\nTags:         " + terminal_safe(listed)  # others chose them
    _emit(as_json, document, human)


@app.command("rotate")
def rotate(key: KeyArg, as_json: JsonOpt = False) -> None:
    """Rotate a key now: new encryptions use new material; old ciphertexts still decrypt."""
    with key_service() as kms:
        result = kms.rotate_key_on_demand(key_id=_key_id(kms, key))
    human = f"rotated {result.key_id}: new encryptions use the new version"
    _emit(as_json, to_kms_shape(result), human)


@app.command("rotations")
def rotations(key: KeyArg, as_json: JsonOpt = False) -> None:
    """List a key's rotations."""
    with key_service() as kms:
        key_id = _key_id(kms, key)
        entries: list[RotationsListEntry] = every_page(
            lambda marker: kms.list_key_rotations(key_id=key_id, marker=marker), "rotations"
        )
    if as_json:
        print_json({"Rotations": to_kms_shape(tuple(entries))})
    elif entries:
        print_table(
            ["RotationDate", "RotationType"],
            [[e.rotation_date.isoformat(), e.rotation_type] for e in entries],
        )
    else:
        typer.echo("no rotations")


@app.command("rotation-status")
def rotation_status(key: KeyArg, as_json: JsonOpt = False) -> None:
    """Show whether automatic rotation is on, its period and the next date."""
    with key_service() as kms:
        result = kms.get_key_rotation_status(key_id=_key_id(kms, key))
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
        kms.enable_key(key_id=_key_id(kms, key))
    typer.echo(f"enabled {key}", err=True)


@app.command("disable")
def disable(key: KeyArg) -> None:
    """Disable a key: it can no longer encrypt or decrypt until enabled."""
    with key_service() as kms:
        kms.disable_key(key_id=_key_id(kms, key))
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
        kms.enable_key_rotation(key_id=_key_id(kms, key), rotation_period_in_days=period_days)
    typer.echo(f"automatic rotation enabled for {key}", err=True)


@app.command("disable-rotation")
def disable_rotation(key: KeyArg) -> None:
    """Turn off automatic rotation (existing versions stay)."""
    with key_service() as kms:
        kms.disable_key_rotation(key_id=_key_id(kms, key))
    typer.echo(f"automatic rotation disabled for {key}", err=True)


@app.command("schedule-deletion")
def schedule_deletion(
    key: KeyArg,
    days: Annotated[int, typer.Option(help="Waiting period, 7 to 30 days.")] = 30,
    as_json: JsonOpt = False,
) -> None:
    """Schedule a key for deletion; until then it can be cancelled."""
    with key_service() as kms:
        result = kms.schedule_key_deletion(key_id=_key_id(kms, key), pending_window_in_days=days)
    _emit(
        as_json,
        to_kms_shape(result),
        f"{result.key_id} will be deleted on {result.deletion_date.isoformat()}",
    )


@app.command("cancel-deletion")
def cancel_deletion(key: KeyArg, as_json: JsonOpt = False) -> None:
    """Cancel a scheduled deletion (the key stays disabled until enabled)."""
    with key_service() as kms:
        result = kms.cancel_key_deletion(key_id=_key_id(kms, key))
    _emit(as_json, to_kms_shape(result), f"deletion cancelled; {result.key_id} is Disabled")


@alias_app.command("create")
def alias_create(
    name: Annotated[str, typer.Argument(help="alias/NAME")],
    key: KeyArg,
) -> None:
    """Point a new alias at a key."""
    with key_service() as kms:
        kms.create_alias(alias_name=name, target_key_id=_key_id(kms, key))
    typer.echo(f"created {name}", err=True)


@alias_app.command("update")
def alias_update(
    name: Annotated[str, typer.Argument(help="alias/NAME")],
    key: KeyArg,
) -> None:
    """Point an existing alias at another key of the same type."""
    with key_service() as kms:
        kms.update_alias(alias_name=name, target_key_id=_key_id(kms, key))
    typer.echo(f"updated {name}", err=True)


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
    with key_service() as kms:
        entries = _all_aliases(kms, _key_id(kms, key) if key else None)
    if as_json:
        print_json({"Aliases": to_kms_shape(tuple(entries))})
    elif entries:
        print_table(["Alias", "KeyId"], [[a.alias_name, a.target_key_id or ""] for a in entries])
    else:
        typer.echo("no aliases")


def _register_key_operations() -> None:
    from envelope_cli import keyops

    keyops.register(app)


_register_key_operations()
