"""LocalKeyService's tags: TagResource, UntagResource and ListResourceTags, with KMS's limits
(50 tags a key, keys of 1-128 and values of 0-256 characters, ``aws:`` reserved)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from envelope.errors import LimitExceededException, TagException
from envelope.keys.base import ListResourceTagsResult, Tag
from envelope.keys.local.core import LocalCore
from envelope.keys.pages import page
from envelope.keys.store import TagRecord
from envelope.keys.validate import (
    MAX_TAG_KEY,
    MAX_TAGS,
    check_key_id,
    check_limit,
    check_marker,
    check_string,
    check_tags,
    invalid,
)


def _check_tag_keys(tag_keys: Sequence[str]) -> list[str]:
    """UntagResource's TagKeys: a list of 1-128 character keys, ``aws:`` reserved.

    Raises:
        ValidationException: not a list of strings of that length.
        TagException: a reserved key.
    """
    if isinstance(tag_keys, (str, bytes)) or not isinstance(tag_keys, Sequence):
        raise invalid("tagKeys", "Member must be a list of tag keys")
    keys = [check_string("tagKeys.member", key, 1, MAX_TAG_KEY) for key in tag_keys]
    for key in keys:
        if key.startswith("aws:"):
            raise TagException(f"Tag keys beginning with 'aws:' are reserved: {key!r}")
    return keys


class Tags(LocalCore):
    """TagResource, UntagResource, ListResourceTags."""

    def tag_resource(self, *, key_id: str, tags: Sequence[Mapping[str, str]]) -> None:
        """Add tags to a key, or change the value of a tag it has.

        Raises:
            TagException: a reserved (``aws:``) or repeated tag key.
            LimitExceededException: the key would have more than 50 tags.
            KMSInvalidStateException: the key is pending deletion.
        """
        check_key_id(key_id)
        if tags is None:
            raise invalid("tags", "Member must not be null")
        pairs = check_tags(tags)
        with self._store.write() as records:
            key = self._resolve(key_id, aliases=False, records=records)
            self._not_pending(key)
            names = {tag.tag_key for tag in records.tags(key.key_id)} | {n for n, _ in pairs}
            if len(names) > MAX_TAGS:
                raise LimitExceededException(
                    f"{self._arn(key.key_id)} would have {len(names)} tags; a key has at most "
                    f"{MAX_TAGS}"
                )
            for name, value in pairs:
                records.put_tag(TagRecord(key.key_id, name, value))

    def untag_resource(self, *, key_id: str, tag_keys: Sequence[str]) -> None:
        """Remove tags from a key; a key it does not have is no error (as in KMS).

        Raises:
            TagException: a reserved (``aws:``) tag key.
            KMSInvalidStateException: the key is pending deletion.
        """
        check_key_id(key_id)
        keys = _check_tag_keys(tag_keys)
        with self._store.write() as records:
            key = self._resolve(key_id, aliases=False, records=records)
            self._not_pending(key)
            for name in keys:
                records.delete_tag(key.key_id, name)

    def list_resource_tags(
        self, *, key_id: str, limit: int | None = None, marker: str | None = None
    ) -> ListResourceTagsResult:
        """A key's tags, by tag key, one page (at most 50) at a time."""
        size = check_limit("limit", limit, "tags")
        check_marker(marker)
        check_key_id(key_id)
        records = self._purge_due_deletions()
        key = self._resolve(key_id, aliases=False, records=records)
        rows = records.tags(key.key_id)
        chunk, truncated, next_marker = page(rows, lambda t: t.tag_key, size, marker)
        return ListResourceTagsResult(
            tags=tuple(Tag(tag_key=t.tag_key, tag_value=t.tag_value) for t in chunk),
            truncated=truncated,
            next_marker=next_marker,
        )
