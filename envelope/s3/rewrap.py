"""Rewrap S3EC objects in place: the data key gets a new wrapping, only the metadata is rewritten.

After a key rotation, a ``kms+context`` data key moves to the newest version of its key through
KMS ReEncrypt, so it never leaves the key service; with ``to=`` it moves to another key (ReEncrypt
between KMS keys, else unwrapped here and wrapped again). The content key, IV, message id and key
commitment stay the same, so the body is never read: the new metadata goes onto the object with
a server-side copy onto itself (``inplace.py``), or into its rewritten instruction file.
"""

from __future__ import annotations

import dataclasses
import json
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from envelope.errors import (
    KeyServiceError,
    S3EncryptionContextError,
    S3EncryptionError,
    S3LegacyFormatError,
    S3MetadataError,
    S3NoMatchingKeyError,
)
from envelope.s3 import metadata as md
from envelope.s3.checks import check_format
from envelope.s3.content import content_key_for
from envelope.s3.inplace import MAX_COPY_OBJECT, MIB, check_copyable, rewrite_metadata
from envelope.s3.keyrings import (
    KmsDiscoveryKeyring,
    KmsKeyring,
    Moved,
    WrappedKey,
    WrappingKeyLike,
    as_keyring,
)
from envelope.s3.results import RewrapFailure, RewrapResult, RewrapSummary
from envelope.s3.stored import INSTRUCTION_SUFFIX

if TYPE_CHECKING:  # pragma: no cover
    from envelope.s3.client import EncryptedS3Client

OnResult = Callable[[RewrapResult | RewrapFailure], Any]


@runtime_checkable
class _Wraps(Protocol):
    binds_context: bool

    def wrap(self, data_key: bytes, cipher: str, context: Mapping[str, str]) -> WrappedKey: ...


@dataclass(frozen=True)
class _Instruction:
    """An object's instruction file as read: its map, its ETag, and what else S3 keeps for it."""

    entries: dict[str, str]
    etag: str
    metadata: dict[str, str]
    content_type: str | None


def _no_such_key(error: Exception) -> bool:
    code = getattr(error, "response", {}).get("Error", {}).get("Code")
    return code in ("NoSuchKey", "404")


def _load(
    s3: Any, bucket: str, key: str, suffix: str, *, plain_ok: bool = False
) -> tuple[dict[str, Any], md.ContentMetadata | None, _Instruction | None]:
    """HeadObject, and the instruction file when the metadata names no data key; meta is None
    for an instruction file itself (and, with ``plain_ok``, for an object that is not encrypted).

    Raises:
        S3MetadataError: Malformed metadata, a missing instruction file, or (without
            ``plain_ok``) an object that is not encrypted.
    """
    head: dict[str, Any] = s3.head_object(Bucket=bucket, Key=key)
    metadata = head.get("Metadata") or {}
    if md.INSTRUCTION_MARKER in metadata:
        return head, None, None
    if not md.needs_instruction_file(metadata):
        return head, md.decode(metadata), None
    try:
        got = s3.get_object(Bucket=bucket, Key=key + suffix)
    except Exception as e:
        if not _no_such_key(e):
            raise
        if md.is_encrypted(metadata):
            raise S3MetadataError(
                f"object {key!r} has V3 content metadata but no instruction file {key + suffix!r}"
            ) from None
        if plain_ok:
            return head, None, None
        raise S3MetadataError(
            f"object {key!r} is not encrypted: it has no S3EC metadata and no instruction file"
        ) from None
    with got["Body"] as body:
        data = body.read(md.MAX_INSTRUCTION_FILE + 1)
    entries = md.parse_instruction_file(data)
    instruction = _Instruction(
        entries, str(got["ETag"]), dict(got.get("Metadata") or {}), got.get("ContentType")
    )
    return head, md.decode(metadata, entries), instruction


def _refuse_legacy(meta: md.ContentMetadata, require_commitment: bool) -> None:
    if meta.version == 1 or meta.content_cipher == md.CIPHER_CBC or meta.wrap_alg == md.WRAP_KMS_V1:
        raise S3LegacyFormatError(
            f"a V{meta.version} object ({meta.content_cipher}, {meta.wrap_alg}) cannot be "
            "rewrapped in place: its 'kms' wrapping binds the key's id into the context, and "
            "its content is not authenticated; decrypt and put it again"
        )
    check_format(meta, allow_legacy=False, require_commitment=require_commitment)


def _move_kms(
    client: EncryptedS3Client, meta: md.ContentMetadata, destination: str | None
) -> Moved:
    """ReEncrypt with the first of the client's KMS keys that the key service accepts."""
    refusals: list[str] = []
    for keyring in client.keyrings:
        if not isinstance(keyring, (KmsKeyring, KmsDiscoveryKeyring)):
            continue
        if destination is None and isinstance(keyring, KmsDiscoveryKeyring):
            refusals.append(f"{keyring!r}: cannot name the key to move to (give the KmsKey)")
            continue
        try:
            moved = keyring.reencrypt(meta, destination)
        except KeyServiceError as e:
            refusals.append(f"{keyring!r}: {e.code}: {e.message}")
            continue
        assert moved is not None
        expected = keyring.key_id if isinstance(keyring, KmsKeyring) else ""
        named = expected.startswith("arn:") and ":alias/" not in expected
        if named and moved.source_key_id != expected:
            refusals.append(f"{keyring!r}: the data key is wrapped by {moved.source_key_id}")
            continue
        if destination is None and moved.source_key_id != moved.key_id:
            # The same key by another name (an alias re-pointed since): not a rotation.
            refusals.append(
                f"{keyring!r}: the data key is wrapped by {moved.source_key_id}, not {moved.key_id}"
            )
            continue
        return moved
    detail = "; ".join(refusals) if refusals else "the client has no KMS key"
    raise S3NoMatchingKeyError(
        f"no KMS key of the client could move the object's data key: {detail}"
    )


def _new_wrapping(
    client: EncryptedS3Client, meta: md.ContentMetadata, to: Any
) -> tuple[WrappedKey, str | None, str | None] | None:
    """The object's data key under its new wrapping, with the KMS key ARNs before and after when
    the key service named them; None when there is nothing to move (a raw key without ``to``)."""
    if to is None:
        if meta.wrap_alg != md.WRAP_KMS_CONTEXT:
            return None
        moved = _move_kms(client, meta, None)
        return moved.wrapped, moved.source_key_id, moved.key_id
    if isinstance(to, KmsKeyring) and meta.wrap_alg == md.WRAP_KMS_CONTEXT:
        moved = _move_kms(client, meta, to.key_id)
        return moved.wrapped, moved.source_key_id, moved.key_id
    if not isinstance(to, _Wraps):
        raise S3EncryptionError(f"{to!r} cannot wrap data keys (a discovery keyring only reads)")
    own = {k: v for k, v in meta.context.items() if k not in md.RESERVED_CONTEXT_KEYS}
    if own and not to.binds_context:
        raise S3EncryptionContextError(
            f"the object cannot be rewrapped in place under {to!r}: raw keys bind no encryption "
            f"context, and the object's context {sorted(own)} would be lost"
        )
    data_key = client.unwrap(meta, own)
    content_key_for(meta, data_key)  # V3: the key commitment must hold before anything moves
    wrapped = to.wrap(data_key, meta.content_cipher, own)
    return wrapped, None, getattr(to, "key_id", None)


_V3_WRAP = (md.ENCRYPTED_DATA_KEY_V3, md.WRAP_ALG_V3, md.ENCRYPTION_CONTEXT_V3, md.MAT_DESC_V3)
_V2_WRAP = (md.KEY_V2, md.WRAP_ALG, md.MATDESC)


def edited_entries(
    old: Mapping[str, str], before: md.ContentMetadata, after: md.ContentMetadata
) -> dict[str, str]:
    """``old`` (object metadata or instruction file) with only the wrapping entries rewritten:
    the data key always, the algorithm and context only when they changed (others verbatim)."""
    encoded = md.encode(after)
    out = dict(old)
    edk_key, alg_key, *context_keys = _V3_WRAP if after.version == 3 else _V2_WRAP
    out[edk_key] = encoded[edk_key]
    if after.wrap_alg != before.wrap_alg:
        out[alg_key] = encoded[alg_key]
    if after.context != before.context or after.wrap_alg != before.wrap_alg:
        for name in context_keys:
            out.pop(name, None)
            if name in encoded:
                out[name] = encoded[name]
    return out


def rewrap_object(
    client: EncryptedS3Client,
    bucket: str,
    key: str,
    *,
    to: WrappingKeyLike | None = None,
    dry_run: bool = False,
    suffix: str = INSTRUCTION_SUFFIX,
    copy_threshold: int = MAX_COPY_OBJECT,
    copy_part_size: int = 512 * MIB,
    listed: bool = False,
) -> RewrapResult:
    """Rewrap one object in place (see ``EncryptedS3Client.rewrap_object``). ``listed``: the key
    came from a listing, so a plain object, or one deleted since, is skipped, not refused."""
    s3 = client.s3_client
    try:
        head, meta, instruction = _load(s3, bucket, key, suffix, plain_ok=listed)
    except Exception as e:
        if not (listed and _no_such_key(e)):  # HeadObject's 404 (the instruction file's is not)
            raise
        return RewrapResult(bucket, key, "skipped", reason="deleted since it was listed")
    etag = head.get("ETag")
    if meta is None:
        marker = md.INSTRUCTION_MARKER in (head.get("Metadata") or {})
        reason = "an instruction file" if marker else "not encrypted"
        return RewrapResult(
            bucket, key, "skipped", etag_before=etag, etag_after=etag, reason=reason
        )
    _refuse_legacy(meta, client.require_key_commitment)
    if instruction is None:
        check_copyable(head)
    target = None if to is None else as_keyring(to)
    moved = _new_wrapping(client, meta, target)
    base: dict[str, Any] = {
        "format": f"V{meta.version}",
        "wrap_alg_before": meta.wrap_alg,
        "etag_before": etag,
    }
    if moved is None:
        return RewrapResult(
            bucket,
            key,
            "skipped",
            **base,
            wrap_alg_after=meta.wrap_alg,
            etag_after=etag,
            reason=f"{meta.wrap_alg} keys have no versions; give to= to move it to another key",
        )
    wrapped, source_id, destination_id = moved
    after = dataclasses.replace(
        meta,
        wrap_alg=wrapped.wrap_alg,
        encrypted_data_key=wrapped.encrypted_data_key,
        context=dict(wrapped.context),
    )
    base.update(wrap_alg_after=after.wrap_alg, key_id_before=source_id, key_id_after=destination_id)
    object_metadata = dict(head.get("Metadata") or {})
    if instruction is not None:
        entries = edited_entries(instruction.entries, meta, after)
        if md.decode(object_metadata, entries) != after:
            raise S3MetadataError("the rewritten instruction file does not read back (a bug)")
        body = json.dumps(entries, separators=(",", ":"), sort_keys=True).encode("ascii")
        if len(body) > md.MAX_INSTRUCTION_FILE:
            raise S3MetadataError("the rewritten instruction file would be too long")
        if dry_run:
            return RewrapResult(bucket, key, "dry run", "instruction file", **base, etag_after=etag)
        extra = {"ContentType": instruction.content_type} if instruction.content_type else {}
        # If-Match: a writer who replaced the object (and its instruction file) meanwhile wins.
        s3.put_object(
            Bucket=bucket,
            Key=key + suffix,
            Body=body,
            Metadata=instruction.metadata,
            IfMatch=instruction.etag,
            **extra,
        )
        return RewrapResult(bucket, key, "rewrapped", "instruction file", **base, etag_after=etag)
    metadata = edited_entries(object_metadata, meta, after)
    if md.decode(metadata) != after:
        raise S3MetadataError("the rewritten metadata does not read back (a bug)")
    if dry_run:
        return RewrapResult(bucket, key, "dry run", "copy", **base, etag_after=etag)
    method, new_etag = rewrite_metadata(
        s3,
        bucket,
        key,
        head,
        metadata,
        copy_threshold=copy_threshold,
        part_size=copy_part_size,
        workers=client.max_concurrency,
    )
    return RewrapResult(bucket, key, "rewrapped", method, **base, etag_after=new_etag)


def rewrap_prefix(
    client: EncryptedS3Client,
    bucket: str,
    prefix: str,
    *,
    to: WrappingKeyLike | None = None,
    dry_run: bool = False,
    max_concurrency: int = 8,
    suffix: str = INSTRUCTION_SUFFIX,
    on_result: OnResult | None = None,
    copy_threshold: int = MAX_COPY_OBJECT,
    copy_part_size: int = 512 * MIB,
) -> RewrapSummary:
    """Rewrap every object under ``prefix`` (see ``EncryptedS3Client.rewrap_prefix``)."""
    if max_concurrency < 1:
        raise S3EncryptionError("max_concurrency must be at least 1")
    results: list[RewrapResult] = []
    failures: list[RewrapFailure] = []

    def one(key: str) -> RewrapResult:
        return rewrap_object(
            client,
            bucket,
            key,
            to=to,
            dry_run=dry_run,
            suffix=suffix,
            copy_threshold=copy_threshold,
            copy_part_size=copy_part_size,
            listed=True,
        )

    def collect(key: str, future: Future[RewrapResult]) -> None:
        outcome: RewrapResult | RewrapFailure
        try:
            outcome = future.result()
        except Exception as e:  # each object's failure is reported; the others go on
            outcome = RewrapFailure(bucket, key, type(e).__name__, str(e))
            failures.append(outcome)
        else:
            results.append(outcome)
        if on_result is not None:
            on_result(outcome)

    pending: deque[tuple[str, Future[RewrapResult]]] = deque()
    paginator = client.s3_client.get_paginator("list_objects_v2")
    with ThreadPoolExecutor(max_workers=max_concurrency) as pool:
        try:
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents") or []:
                    # A bounded window: listing a million keys queues a few dozen at most.
                    while len(pending) >= 2 * max_concurrency:
                        collect(*pending.popleft())
                    pending.append((item["Key"], pool.submit(one, item["Key"])))
            while pending:
                collect(*pending.popleft())
        except BaseException:
            # Ctrl-C, SIGTERM (the CLI raises it here) or a failed listing: the objects in flight
            # finish on their own, the queued ones are not started (nobody would report them).
            for _, future in pending:
                future.cancel()
            raise
    return RewrapSummary(
        bucket,
        prefix,
        tuple(sorted(results, key=lambda r: r.key)),
        tuple(sorted(failures, key=lambda f: f.key)),
    )


class RewrapMethods:
    """``rewrap_object`` and ``rewrap_prefix``, for ``EncryptedS3Client``."""

    def rewrap_object(
        self,
        Bucket: str,
        Key: str,
        *,
        to: WrappingKeyLike | None = None,
        dry_run: bool = False,
        InstructionFileSuffix: str = INSTRUCTION_SUFFIX,
        copy_threshold: int = MAX_COPY_OBJECT,
        copy_part_size: int = 512 * MIB,
    ) -> RewrapResult:
        """Give an object's data key a new wrapping, rewriting only its metadata.

        Without ``to``, a ``kms+context`` data key moves to the newest version of its KMS key
        with ReEncrypt (the key must be one of the client's ``KmsKey``s; the data key never
        leaves the key service). With ``to``, it moves to that key: ReEncrypt between KMS keys,
        otherwise it is unwrapped with the client's keys (V3: commitment checked) and wrapped
        again. The content key, IV, message id and commitment do not change, so the body is
        never downloaded. Header metadata is rewritten by CopyObject onto the object itself
        (a multipart object part by part in its own layout, so its ETag stays the same; above
        ``copy_threshold`` with UploadPartCopy); content headers, storage class, server-side
        encryption and tags are kept. An instruction file is rewritten with one PutObject.
        Every write is conditional on the ETag read first: a concurrent writer wins, and the
        object is either rewrapped or left as it was. ACLs are not copied (S3 resets them on a
        copy; buckets made since 2023 have none). In a versioned bucket the previous version
        keeps its old wrapping.

        Args:
            Bucket: The bucket.
            Key: The object key.
            to: The new wrapping key (``KmsKey``, ``RawAesKey``, ``RawRsaKey``).
            dry_run: Do every check and key-service call, write nothing to S3.
            InstructionFileSuffix: Where the instruction file is, if the object has one.
            copy_threshold: Objects above this are copied in parts (S3: 5 GiB at most).
            copy_part_size: The part size for such copies.

        Returns:
            What was done; ``status`` is ``"skipped"`` for a raw-key object without ``to`` and
            for an instruction file.

        Raises:
            S3LegacyFormatError: A V1, AES-CBC or ``kms`` object, or V2 when the client requires
                key commitment.
            S3EncryptionContextError: ``to`` is a raw key and the object has a context.
            S3NoMatchingKeyError: None of the client's keys could move or unwrap the data key.
            S3MetadataError: Malformed metadata, not encrypted, or over S3's 2 KB.
            S3EncryptionError: Archived or SSE-C objects.
            botocore.exceptions.ClientError: S3 refused (PreconditionFailed: the object changed).
        """
        return rewrap_object(
            cast("EncryptedS3Client", self),
            Bucket,
            Key,
            to=to,
            dry_run=dry_run,
            suffix=InstructionFileSuffix,
            copy_threshold=copy_threshold,
            copy_part_size=copy_part_size,
        )

    def rewrap_prefix(
        self,
        Bucket: str,
        Prefix: str = "",
        *,
        to: WrappingKeyLike | None = None,
        dry_run: bool = False,
        max_concurrency: int = 8,
        on_result: OnResult | None = None,
        InstructionFileSuffix: str = INSTRUCTION_SUFFIX,
    ) -> RewrapSummary:
        """``rewrap_object`` for every object under ``Prefix``, ``max_concurrency`` at a time.

        Each object is rewrapped or left as it was; a failure is recorded and the others go on.
        Instruction files and plain objects are skipped. ``on_result`` is called (from this
        thread) with each outcome as it arrives, for progress.

        Returns:
            The summary: every object's result or failure, sorted by key.
        """
        return rewrap_prefix(
            cast("EncryptedS3Client", self),
            Bucket,
            Prefix,
            to=to,
            dry_run=dry_run,
            max_concurrency=max_concurrency,
            suffix=InstructionFileSuffix,
            on_result=on_result,
        )
