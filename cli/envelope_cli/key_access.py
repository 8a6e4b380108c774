"""``envelope key policy ...``, ``envelope key grant ...`` and ``envelope key tag|untag|tags``: who
may use a key."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from envelope.errors import AccessDeniedException
from envelope.keys.base import GrantListEntry, KeyService, Tag
from envelope.keys.shapes import to_kms_shape
from envelope_cli.common import (
    CliError,
    every_page,
    key_service,
    open_input,
    parse_context,
    print_json,
    print_table,
    terminal_safe,
)

policy_app = typer.Typer(help="Show and replace key policies.", no_args_is_help=True)
grant_app = typer.Typer(help="Create, list, retire and revoke grants.", no_args_is_help=True)

KeyArg = Annotated[str, typer.Argument(help="Key id, key ARN, alias name or alias ARN.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the KMS-shaped JSON response.")]
MAX_POLICY_FILE = 64 * 1024
"""Bytes read from a policy file: twice the 32 KB KMS takes, so an oversized one still reaches
the key service and gets its LimitExceededException."""


def _key_id(kms: KeyService, key: str) -> str:
    """Resolve an alias: these operations take only a key id or key ARN."""
    if key.startswith("alias/") or ":alias/" in key:
        return kms.describe_key(key_id=key).key_metadata.key_id
    return key


@policy_app.command("get")
def policy_get(key: KeyArg, as_json: JsonOpt = False) -> None:
    """Print the key's policy document."""
    with key_service() as kms:
        result = kms.get_key_policy(key_id=_key_id(kms, key))
    if as_json:
        print_json(to_kms_shape(result))
    else:  # whoever wrote the policy chose its characters: line by line, nothing else raw
        lines = result.policy.rstrip("\n").split("\n")
        sys.stdout.write("\n".join(terminal_safe(line) for line in lines) + "\n")


@policy_app.command("put")
def policy_put(
    key: KeyArg,
    source: Annotated[str, typer.Argument(help="Policy document (JSON) file, or - for stdin.")],
    bypass: Annotated[
        bool,
        typer.Option(
            "--bypass-lockout-check",
            help="Skip KMS's check that the new policy still lets you change it (you may lose "
            "access to the key for good).",
        ),
    ] = False,
) -> None:
    """Replace the key's policy (KMS PutKeyPolicy)."""
    with open_input(source) as handle:
        data = handle.read(MAX_POLICY_FILE + 1)
    if len(data) > MAX_POLICY_FILE:
        raise CliError(f"{source} is over {MAX_POLICY_FILE} bytes; a key policy is at most 32 KB")
    try:
        document = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{source} is not UTF-8 text") from None
    with key_service() as kms:
        kms.put_key_policy(
            key_id=_key_id(kms, key), policy=document, bypass_policy_lockout_safety_check=bypass
        )
    typer.echo(f"replaced the policy of {key}", err=True)


def _constraint_text(entry: GrantListEntry) -> str:
    if entry.constraints is None:
        return ""
    parts = []
    for name, pairs in (("equals", entry.constraints.encryption_context_equals),
                        ("subset", entry.constraints.encryption_context_subset)):  # fmt: skip
        if pairs is not None:
            parts.append(f"{name} " + ",".join(f"{k}={v}" for k, v in sorted(pairs.items())))
    return "; ".join(parts)


@grant_app.command("create")
def grant_create(
    key: KeyArg,
    grantee: Annotated[str, typer.Option("--grantee", help="Grantee principal ARN.")],
    operation: Annotated[
        list[str],
        typer.Option(
            "--operation",
            "-o",
            help="A grant operation (Decrypt, Encrypt, ...); repeat it or separate with commas.",
        ),
    ],
    retiring: Annotated[
        str | None, typer.Option("--retiring", help="Retiring principal ARN.")
    ] = None,
    context_equals: Annotated[
        list[str] | None,
        typer.Option("--context-equals", help="KEY=VALUE: requests must have exactly these."),
    ] = None,
    context_subset: Annotated[
        list[str] | None,
        typer.Option("--context-subset", help="KEY=VALUE: requests must have at least these."),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Name: a retry with the same grant is a no-op.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Give a principal some operations on a key (KMS CreateGrant)."""
    operations = [part.strip() for item in operation for part in item.split(",") if part.strip()]
    constraints = {}
    equals, subset = parse_context(context_equals), parse_context(context_subset)
    if equals is not None:
        constraints["EncryptionContextEquals"] = equals
    if subset is not None:
        constraints["EncryptionContextSubset"] = subset
    with key_service() as kms:
        result = kms.create_grant(
            key_id=_key_id(kms, key),
            grantee_principal=grantee,
            operations=operations,
            retiring_principal=retiring,
            constraints=constraints or None,
            name=name,
        )
    if as_json:
        print_json(to_kms_shape(result))
    else:
        typer.echo(f"GrantId:    {result.grant_id}\nGrantToken: {result.grant_token}")


@grant_app.command("list")
def grant_list(
    key: KeyArg,
    grantee: Annotated[
        str | None, typer.Option("--grantee", help="Only this grantee's grants.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List a key's grants."""
    with key_service() as kms:
        key_id = _key_id(kms, key)
        entries: list[GrantListEntry] = every_page(
            lambda marker: kms.list_grants(
                key_id=key_id, grantee_principal=grantee, marker=marker
            ),
            "grants",
        )
    if as_json:
        print_json({"Grants": to_kms_shape(tuple(entries))})
    elif entries:
        print_table(
            ["GrantId", "Grantee", "Operations", "Constraint", "Retiring", "Name"],
            [[e.grant_id, e.grantee_principal, ",".join(e.operations), _constraint_text(e),
              e.retiring_principal or "", e.name or ""] for e in entries],
        )  # fmt: skip
    else:
        typer.echo("no grants")


@grant_app.command("retire")
def grant_retire(
    key: Annotated[str | None, typer.Argument(help="Key id or ARN (with GRANT_ID).")] = None,
    grant_id: Annotated[str | None, typer.Argument(help="Grant id.")] = None,
    token: Annotated[
        str | None, typer.Option("--token", help="The grant token (instead of KEY GRANT_ID).")
    ] = None,
) -> None:
    """Retire a grant, as its retiring principal or grantee (KMS RetireGrant)."""
    if token is None and (key is None or grant_id is None):
        raise CliError("name the grant: KEY GRANT_ID, or --token TOKEN")
    with key_service() as kms:
        key_id = _key_id(kms, key) if key is not None else None
        kms.retire_grant(grant_token=token, key_id=key_id, grant_id=grant_id)
    typer.echo("retired the grant", err=True)


@grant_app.command("revoke")
def grant_revoke(
    key: KeyArg, grant_id: Annotated[str, typer.Argument(help="Grant id.")]
) -> None:
    """Revoke a grant, as a key administrator (KMS RevokeGrant)."""
    with key_service() as kms:
        kms.revoke_grant(key_id=_key_id(kms, key), grant_id=grant_id)
    typer.echo(f"revoked {grant_id}", err=True)


# --- tags (registered on ``envelope key`` by keys.py) ------------------------------------------
def all_tags(kms: KeyService, key_id: str) -> list[Tag] | None:
    """Every tag of a key, or None when the caller may not list them."""
    try:
        return _tags_of(kms, key_id)
    except AccessDeniedException:
        return None


def _tags_of(kms: KeyService, key_id: str) -> list[Tag]:
    return every_page(
        lambda marker: kms.list_resource_tags(key_id=key_id, marker=marker), "tags"
    )


def tag(
    key: KeyArg,
    pairs: Annotated[list[str], typer.Argument(help="Tags as KEY=VALUE (VALUE may be empty).")],
) -> None:
    """Add tags to a key, or change their values (KMS TagResource)."""
    tags = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CliError(f"tag {pair!r} is not of the form KEY=VALUE")
        tags.append({"TagKey": name, "TagValue": value})
    with key_service() as kms:
        kms.tag_resource(key_id=_key_id(kms, key), tags=tags)
    typer.echo(f"tagged {key}", err=True)


def untag(
    key: KeyArg, names: Annotated[list[str], typer.Argument(help="Tag keys to remove.")]
) -> None:
    """Remove tags from a key (KMS UntagResource); a key it lacks is no error."""
    with key_service() as kms:
        kms.untag_resource(key_id=_key_id(kms, key), tag_keys=names)
    typer.echo(f"untagged {key}", err=True)


def tags(key: KeyArg, as_json: JsonOpt = False) -> None:
    """List a key's tags."""
    with key_service() as kms:
        found = _tags_of(kms, _key_id(kms, key))
    if as_json:
        print_json({"Tags": to_kms_shape(tuple(found))})
    elif found:
        print_table(["TagKey", "TagValue"], [[t.tag_key, t.tag_value] for t in found])
    else:
        typer.echo("no tags")
