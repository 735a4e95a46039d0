"""The uploads area contract: one record per command, updated as the upload goes on."""

from __future__ import annotations

from aurora.collector.store import UploadRecord
from aurora.collector.store.base import UploadStore


class UploadsSuite:
    def test_uploads(self, store: UploadStore) -> None:
        store.record_upload(UploadRecord("c1", "s1", "/x.part", 10, "", False, 1))
        store.record_upload(UploadRecord("c1", "s1", "/x.bin", 20, "ab", True, 2))
        up = store.get_upload("c1")
        assert up is not None and (up.path, up.size, up.complete) == ("/x.bin", 20, True)
        assert store.get_upload("c2") is None
