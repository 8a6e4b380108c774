"""EncryptedS3Client: boto3's S3 object calls with S3 Encryption Client (V3/V2) encryption."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

from envelope.errors import (
    KeyServiceError,
    S3EncryptionError,
    S3MetadataError,
    S3NoMatchingKeyError,
    S3ObjectTooLargeError,
)
from envelope.s3 import metadata as md
from envelope.s3.checks import check_context, check_format, refuse_body_params, request_context
from envelope.s3.content import content_key_for, decrypt_bytes, encrypt_bytes, new_content_key
from envelope.s3.keyrings import S3Keyring, WrappingKeyLike, as_keyring
from envelope.s3.presign import PresignMethods
from envelope.s3.ranges import RangeMethods
from envelope.s3.replace import reuse_data_key
from envelope.s3.results import OpenObject, Prepared, S3ObjectInfo
from envelope.s3.rewrap import RewrapMethods
from envelope.s3.stored import INSTRUCTION_SUFFIX, instruction_slot, read_metadata
from envelope.s3.transfer import TransferMethods, upload_stream

MIB = 1024 * 1024
_MIN_PART = 5 * MIB  # S3: every part but the last is at least 5 MiB
_FORMATS = {"v3": md.CIPHER_V3, "v2": md.CIPHER_GCM}
Callback = Callable[[int], Any]


class EncryptedS3Client(TransferMethods, RewrapMethods, RangeMethods, PresignMethods):
    """Client-side encryption for S3 objects, compatible with the AWS S3 Encryption Client.

    Objects are written in format V3 (key-committing, content suite 0x0073) by default, or V2
    (``kms+context`` / AES-GCM) for older readers; V2 and V3 are read, V1 and AES-CBC only with
    ``allow_unauthenticated_legacy``. Other S3 calls pass through to the wrapped client.
    """

    def __init__(
        self,
        s3_client: Any,
        *,
        keys: WrappingKeyLike | Sequence[WrappingKeyLike],
        format: str = "v3",
        instruction_file: bool = False,
        replace_in_one_write: bool = False,
        require_key_commitment: bool = False,
        allow_unauthenticated_legacy: bool = False,
        allow_unauthenticated_ranges: bool = False,
        max_in_memory: int = 64 * MIB,
        multipart_threshold: int = 8 * MIB,
        part_size: int = 8 * MIB,
        max_concurrency: int = 4,
        spool_dir: str | None = None,
    ) -> None:
        """Create the client.

        Args:
            s3_client: A boto3 S3 client (``boto3.client("s3")``); envelope never builds one.
            keys: One or more wrapping keys (``KmsKey``, ``RawAesKey``, ``RawRsaKey``). The first
                wraps new objects (an S3EC object has one data key); all are tried to read.
            format: ``"v3"`` (default) or ``"v2"`` for new objects.
            instruction_file: Store new objects' metadata in ``KEY.instruction``.
            replace_in_one_write: Replace a V3 instruction-file object under the same KMS key
                and context in one write, reusing its data key; off by default, as it trusts
                the instruction file (``envelope.s3.replace`` says why that matters).
            require_key_commitment: Refuse to read V2 objects (no key commitment).
            allow_unauthenticated_legacy: Read legacy AES-CBC content and ``kms`` wrapping.
            allow_unauthenticated_ranges: Allow ranged gets (``get_object(Range=...)``,
                ``download_range``), decrypted with AES-CTR and NOT authenticated: a tampered
                range decrypts to wrong bytes without an error.
            max_in_memory: Largest object ``get_object`` decrypts into memory.
            multipart_threshold: Uploads above this size use multipart upload.
            part_size: Multipart part size (at least 5 MiB).
            max_concurrency: Parts uploaded at once.
            spool_dir: Folder for the private temporary file ``download_fileobj`` decrypts into
                before it releases anything (default: the system temporary folder).

        Raises:
            S3EncryptionError: No key, an unknown format or an impossible size setting.
        """
        if isinstance(keys, Sequence):
            keyrings = [as_keyring(k) for k in keys]
        else:
            keyrings = [as_keyring(keys)]
        if not keyrings:
            raise S3EncryptionError("EncryptedS3Client needs at least one wrapping key")
        if format not in _FORMATS:
            raise S3EncryptionError(f"format must be 'v3' or 'v2', not {format!r}")
        if part_size < _MIN_PART:
            raise S3EncryptionError(f"part_size is {part_size} bytes; S3 needs at least 5 MiB")
        if multipart_threshold < 1 or max_concurrency < 1 or max_in_memory < 0:
            raise S3EncryptionError("multipart_threshold and max_concurrency must be positive")
        self._s3 = s3_client
        self._keyrings = keyrings
        self._cipher = _FORMATS[format]
        self.instruction_file = instruction_file
        self.replace_in_one_write = replace_in_one_write
        self.require_key_commitment = require_key_commitment
        self.allow_unauthenticated_legacy = allow_unauthenticated_legacy
        self.allow_unauthenticated_ranges = allow_unauthenticated_ranges
        self.max_in_memory = max_in_memory
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.max_concurrency = max_concurrency
        self.spool_dir = spool_dir

    def __repr__(self) -> str:
        return f"EncryptedS3Client(keys={self._keyrings!r}, cipher={self._cipher!r})"

    @property
    def s3_client(self) -> Any:
        """The wrapped boto3 S3 client."""
        return self._s3

    @property
    def keyrings(self) -> tuple[S3Keyring, ...]:
        """The wrapping keys, as S3 keyrings (the first wraps new objects)."""
        return tuple(self._keyrings)

    def __getattr__(self, name: str) -> Any:
        # Calls unrelated to encryption (list_objects_v2, copy_object, ...) go to boto3 as is
        # (s3-encryption/client.md#aws-sdk-compatibility).
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._s3, name)

    # --- writing ---------------------------------------------------------------------------------
    def prepare(self, context: Mapping[str, str] | None, *, format: str | None = None) -> Prepared:
        """A fresh data key (from the first wrapping key) and the metadata for a new object.

        Raises:
            S3EncryptionContextError: A reserved or non-string context entry, or a context with
                a raw key (only KMS keys bind it).
            KeyServiceError: The key service refused.
        """
        cipher = self._cipher if format is None else _FORMATS.get(format.lower(), "")
        if not cipher:
            raise S3EncryptionError(f"format must be 'v3' or 'v2', not {format!r}")
        keyring = self._keyrings[0]
        request = request_context(context, keyring)
        data_key, wrapped = keyring.new_data_key(cipher, request)
        key, message_id, commitment = new_content_key(cipher, data_key)
        meta = md.ContentMetadata(
            version=3 if cipher == md.CIPHER_V3 else 2,
            content_cipher=cipher,
            wrap_alg=wrapped.wrap_alg,
            encrypted_data_key=wrapped.encrypted_data_key,
            context=wrapped.context,
            iv=None if cipher == md.CIPHER_V3 else key.iv,
            message_id=message_id,
            commitment=commitment,
        )
        return Prepared(key, meta)

    def store_metadata(
        self,
        prepared: Prepared,
        *,
        user_metadata: Mapping[str, str] | None,
        instruction_file: bool | None = None,
    ) -> tuple[dict[str, str], bytes | None]:
        """The ``Metadata`` for the object, and the body of its instruction file when it has one
        (nothing is written here: ``write_instruction_file`` once the object is stored).

        Raises:
            S3MetadataError: User metadata uses an S3EC map key.
        """
        user = dict(user_metadata or {})
        clash = sorted(k for k in user if k.lower() in md.ALL_KEYS)
        if clash:
            raise S3MetadataError(f"user metadata may not use the S3EC keys {clash}")
        use_file = self.instruction_file if instruction_file is None else instruction_file
        if not use_file:
            return {**user, **md.encode(prepared.meta)}, None
        on_object, body = md.split_for_instruction_file(prepared.meta)
        return {**user, **on_object}, body

    def check_instruction_file_slot(self, *, bucket: str, key: str) -> str:
        """Refuse to write ``key`` with an instruction file when ``KEY.instruction`` is an object
        of its own (one without the S3EC's instruction-file marker): the instruction file would
        replace it. Called before the object is written.

        Returns:
            ``"absent"`` or ``"instruction"`` (an instruction file is there).

        Raises:
            S3EncryptionError: ``KEY.instruction`` exists and is not an instruction file.
        """
        slot = instruction_slot(self._s3, bucket, key + INSTRUCTION_SUFFIX)
        if slot != "foreign":
            return slot
        raise S3EncryptionError(
            f"{key + INSTRUCTION_SUFFIX!r} exists and is not an instruction file (it has no "
            f"{md.INSTRUCTION_MARKER} metadata): writing {key!r} with an instruction file would "
            "replace it; rename one of them, or keep the metadata in the object's headers"
        )

    def prepare_object(
        self,
        *,
        bucket: str,
        key: str,
        context: Mapping[str, str] | None,
        format: str | None,
        instruction_file: bool | None,
        user_metadata: Mapping[str, str] | None,
    ) -> tuple[Prepared, dict[str, str], bytes | None]:
        """``prepare`` and ``store_metadata`` for ``bucket/key``, checked before anything is sent.

        With ``replace_in_one_write``, a V3 instruction-file object replaced under the same KMS
        key and context reuses its data key (``envelope.s3.replace``): no instruction file body.

        Returns:
            (content key and metadata, the object's ``Metadata``, the instruction file body to
            write after the object or None).

        Raises:
            S3EncryptionError: As ``prepare``, ``store_metadata`` and
                ``check_instruction_file_slot``.
        """
        use_file = self.instruction_file if instruction_file is None else instruction_file
        slot = self.check_instruction_file_slot(bucket=bucket, key=key) if use_file else "absent"
        if self.replace_in_one_write and slot == "instruction":
            keyring = self._keyrings[0]
            cipher = self._cipher if format is None else _FORMATS.get(format.lower(), "")
            reused = reuse_data_key(
                self._s3, keyring, bucket=bucket, key=key,
                instruction_name=key + INSTRUCTION_SUFFIX, cipher=cipher,
                context=request_context(context, keyring),
            )  # fmt: skip
            if reused is not None:
                metadata, _ = self.store_metadata(
                    reused, user_metadata=user_metadata, instruction_file=True
                )
                return reused, metadata, None
        prepared = self.prepare(context, format=format)
        metadata, instruction = self.store_metadata(
            prepared, user_metadata=user_metadata, instruction_file=use_file
        )
        return prepared, metadata, instruction

    def write_instruction_file(self, *, bucket: str, key: str, body: bytes | None) -> None:
        """Store an object's instruction file, after the object itself.

        The order matters when an object is replaced: were the file written first and the
        object's upload then failed (a broken source, Ctrl-C, S3 refusing it), the old object
        would stay with a data key that does not open it, lost for good. This way a failed
        upload leaves the old object and its file as they were. Between the two writes (and if
        this one fails) readers get a clear error, never wrong plaintext: the old file's data key
        fails the new object's key commitment (V3) or tag (V2). A V3 object replaced under the
        same key and context has no second write (``prepare_object``, ``envelope.s3.replace``).
        """
        if body is not None:
            self._s3.put_object(
                Bucket=bucket,
                Key=key + INSTRUCTION_SUFFIX,
                Body=body,
                Metadata={md.INSTRUCTION_MARKER: ""},
            )

    def put_object(
        self,
        *,
        Bucket: str,
        Key: str,
        Body: bytes | bytearray | memoryview | str | IO[bytes] = b"",
        EncryptionContext: Mapping[str, str] | None = None,
        InstructionFile: bool | None = None,
        Format: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Encrypt ``Body`` and store it (boto3's ``put_object`` with three more parameters).

        A file-like body larger than ``multipart_threshold`` goes up as a multipart upload, in
        constant memory.

        Args:
            Bucket: The bucket.
            Key: The object key.
            Body: Bytes, text (UTF-8) or a binary file-like object.
            EncryptionContext: Authenticated, non-secret context (KMS keys only); the same map
                must be given to read the object.
            InstructionFile: Override the client's instruction-file setting for this object.
            Format: Override the client's format (``"v3"`` or ``"v2"``) for this object.
            **kwargs: Other PutObject parameters (``Metadata``, ``ContentType``, ...).

        Returns:
            boto3's PutObject (or CompleteMultipartUpload) response.

        Raises:
            S3EncryptionError: A subclass saying which check failed; botocore's ClientError for
                S3's refusals.
        """
        refuse_body_params(kwargs)
        if isinstance(Body, str):
            Body = Body.encode("utf-8")
        if isinstance(Body, (bytes, bytearray, memoryview)):
            return self._put_bytes(
                bytes(Body), Bucket, Key, EncryptionContext, InstructionFile, Format, kwargs
            )
        return upload_stream(
            self,
            Body,
            bucket=Bucket,
            key=Key,
            context=EncryptionContext,
            extra=kwargs,
            instruction_file=InstructionFile,
            format=Format,
        )

    def _put_bytes(
        self,
        data: bytes,
        bucket: str,
        key: str,
        context: Mapping[str, str] | None,
        instruction_file: bool | None,
        format: str | None,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        prepared, metadata, instruction = self.prepare_object(
            bucket=bucket, key=key, context=context, format=format,
            instruction_file=instruction_file, user_metadata=extra.pop("Metadata", None),
        )  # fmt: skip
        body = encrypt_bytes(prepared.key, data)
        result: dict[str, Any] = self._s3.put_object(
            Bucket=bucket, Key=key, Body=body, Metadata=metadata, **extra
        )
        self.write_instruction_file(bucket=bucket, key=key, body=instruction)
        return result

    # --- reading ---------------------------------------------------------------------------------
    def open_object(
        self,
        *,
        Bucket: str,
        Key: str,
        EncryptionContext: Mapping[str, str] | None = None,
        InstructionFileSuffix: str = INSTRUCTION_SUFFIX,
        **kwargs: Any,
    ) -> OpenObject:
        """GetObject, then read the metadata (and instruction file) and unwrap the data key.

        The body is not read: the caller decrypts it and must close it.

        Raises:
            S3EncryptionError: A subclass saying which check failed.
        """
        for name in ("Range", "PartNumber"):
            if name in kwargs:
                raise S3EncryptionError(
                    f"{name} is not supported here: objects are read whole (a byte range: "
                    "get_object(Range=...) or download_range, unauthenticated, by opt-in)"
                )
        response: dict[str, Any] = self._s3.get_object(Bucket=Bucket, Key=Key, **kwargs)
        try:
            if response.get("ContentRange"):
                # decryption.md#ranged-gets: a range nobody asked for is refused.
                raise S3MetadataError("S3 answered with a range that was not requested")
            meta = self.read_metadata(
                Bucket, Key, response.get("Metadata") or {}, suffix=InstructionFileSuffix
            )
            data_key = self.unwrap(meta, EncryptionContext)
            key = content_key_for(meta, data_key)
            return OpenObject(response, meta, key)
        except BaseException:
            body = response.get("Body")
            if body is not None:
                body.close()
            raise

    def read_metadata(
        self,
        bucket: str,
        key: str,
        metadata: Mapping[str, str],
        *,
        suffix: str = INSTRUCTION_SUFFIX,
    ) -> md.ContentMetadata:
        """``read_metadata`` (the module function) with this client's S3 client."""
        return read_metadata(self._s3, bucket, key, metadata, suffix=suffix)

    def unwrap(self, meta: md.ContentMetadata, context: Mapping[str, str] | None) -> bytes:
        """Check the format and encryption context against this client's rules, then unwrap the
        data key with the first key that can.

        Raises:
            S3LegacyFormatError: A format or algorithm not opted into, or not supported.
            S3EncryptionContextError: The request's context does not match the stored one.
            S3NoMatchingKeyError: No wrapping key could unwrap the data key.
        """
        check_format(
            meta,
            allow_legacy=self.allow_unauthenticated_legacy,
            require_commitment=self.require_key_commitment,
        )
        check_context(meta, context)
        refusals: list[str] = []
        for keyring in self._keyrings:
            try:
                data_key = keyring.unwrap(meta)
            except KeyServiceError as e:
                refusals.append(f"{keyring!r}: {e.code}: {e.message}")
                continue
            if data_key is not None:
                return data_key
        detail = f"; key service refusals: {'; '.join(refusals)}" if refusals else ""
        raise S3NoMatchingKeyError(
            f"none of the {len(self._keyrings)} wrapping key(s) could unwrap the object's data key "
            f"({meta.wrap_alg}){detail}"
        )

    def get_object(
        self,
        *,
        Bucket: str,
        Key: str,
        EncryptionContext: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Get and decrypt an object into memory (at most ``max_in_memory`` bytes).

        The plaintext is returned only after the tag (and, for V3, the key commitment) verified.
        ``Body`` in the response is a ``BytesIO`` of the plaintext, ``ContentLength`` its size.
        With ``Range="bytes=FIRST-LAST"`` (a client made with ``allow_unauthenticated_ranges``)
        only that range is fetched and decrypted, WITHOUT authentication (``download_range``).

        Raises:
            S3ObjectTooLargeError: The object is larger than ``max_in_memory`` (use
                ``download_file`` / ``download_fileobj``).
            S3EncryptionError: Another subclass saying which check failed.
        """
        if "Range" in kwargs:
            byte_range = kwargs.pop("Range")
            return self._get_range(Bucket, Key, byte_range, EncryptionContext, kwargs)
        obj = self.open_object(
            Bucket=Bucket, Key=Key, EncryptionContext=EncryptionContext, **kwargs
        )
        try:
            if obj.length > self.max_in_memory:
                raise S3ObjectTooLargeError(
                    f"object is {obj.length} bytes, above max_in_memory ({self.max_in_memory}); "
                    "use download_file or download_fileobj"
                )
            data = obj.body.read()
        finally:
            obj.close()
        if len(data) != obj.length:
            raise S3ObjectTooLargeError("object body length differs from its ContentLength")
        plaintext = decrypt_bytes(obj.key, data)
        response = dict(obj.response)
        response["Body"] = io.BytesIO(plaintext)
        response["ContentLength"] = len(plaintext)
        return response

    def inspect_object(
        self, *, Bucket: str, Key: str, InstructionFileSuffix: str = INSTRUCTION_SUFFIX
    ) -> S3ObjectInfo:
        """``inspect_object`` (the module function) with this client's S3 client."""
        return inspect_object(
            self._s3, Bucket=Bucket, Key=Key, InstructionFileSuffix=InstructionFileSuffix
        )

    def delete_object(
        self,
        *,
        Bucket: str,
        Key: str,
        InstructionFileSuffix: str = INSTRUCTION_SUFFIX,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Delete an object and its instruction file (client.md: DeleteObject), but never an
        object of its own that only has the instruction file's name."""
        result: dict[str, Any] = self._s3.delete_object(Bucket=Bucket, Key=Key, **kwargs)
        name = Key + InstructionFileSuffix
        if instruction_slot(self._s3, Bucket, name) == "instruction":
            self._s3.delete_object(Bucket=Bucket, Key=name)
        return result


def inspect_object(
    s3: Any, *, Bucket: str, Key: str, InstructionFileSuffix: str = INSTRUCTION_SUFFIX
) -> S3ObjectInfo:
    """What an encrypted object's metadata says (HeadObject, and its instruction file); no key
    is used and nothing is decrypted.

    Args:
        s3: A boto3 S3 client.
        Bucket: The bucket.
        Key: The object key.
        InstructionFileSuffix: Where the instruction file is, if the object has one.

    Raises:
        S3MetadataError: The object is not an S3EC object or its metadata is malformed.
    """
    head = s3.head_object(Bucket=Bucket, Key=Key)
    meta = read_metadata(s3, Bucket, Key, head.get("Metadata") or {}, suffix=InstructionFileSuffix)
    size = int(head.get("ContentLength", 0))
    tag = 0 if meta.content_cipher == md.CIPHER_CBC else 16
    return S3ObjectInfo(
        bucket=Bucket,
        key=Key,
        format=f"V{meta.version}",
        content_cipher=meta.content_cipher,
        wrap_alg=meta.wrap_alg,
        context=meta.context,
        metadata_location="instruction file" if meta.instruction_file else "object",
        size=size,
        plaintext_size=size - tag if tag else None,
        message_id=meta.message_id.hex() if meta.message_id else None,
        etag=head.get("ETag"),
    )
