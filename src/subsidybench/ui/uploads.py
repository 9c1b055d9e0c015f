"""Run files uploaded to the page: kept in the server's own temporary folder, named by content.

A page never reads a path on the server a user names: a run is uploaded, stored under the first
16 hex digits of its SHA-256, and a URL names it by that id (`run=3f2a...`). The same file
uploaded twice is one entry, so a bookmarked URL keeps working while the server runs.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from pathlib import Path

from subsidybench.errors import UserError

MAX_UPLOAD = 16 * 1024 * 1024
"""Bytes of one run file: a run of the full suite with every raw sample is ~2 MB."""
MAX_FILES = 200
"""Uploads one server keeps (3.2 GB at most, in its temporary folder, removed when it stops)."""
_ID = re.compile(r"[0-9a-f]{16}")
_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class Uploads:
    """The run files uploaded to one server."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="subsidybench-ui-")
        self.names: dict[str, str] = {}
        """Upload id -> the file name it was uploaded as (for the equivalent command)."""

    @property
    def folder(self) -> Path:
        return Path(self._dir.name)

    def add(self, name: str, data: bytes) -> str:
        """Store a run file; its id. Refused: too large, not JSON, too many files."""
        if len(data) > MAX_UPLOAD:
            raise UserError(f"--run: {name}: larger than {MAX_UPLOAD // 2**20} MiB")
        try:
            json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise UserError(f"--run: {name}: not a JSON run file ({e})") from None
        upload = hashlib.sha256(data).hexdigest()[:16]
        if upload not in self.names:
            if len(self.names) >= MAX_FILES:
                raise UserError(f"--run: this server keeps {MAX_FILES} uploads; restart it")
            self.path(upload, check=False).write_bytes(data)
        clean = _NAME.sub("_", Path(name).name)[:80] or "run.json"
        self.names[upload] = clean
        return upload

    def path(self, upload: str, check: bool = True) -> Path:
        if check and (not _ID.fullmatch(upload) or upload not in self.names):
            raise UserError(f"--run: {upload!r} is not a run uploaded to this page: upload it")
        return self.folder / f"{upload}.json"

    def hide(self, message: str) -> str:
        """A message with the server's own paths replaced by the names files were uploaded as."""
        for upload, name in self.names.items():
            message = message.replace(str(self.path(upload, check=False)), name)
        return message.replace(str(self.folder), "upload")

    def close(self) -> None:
        self._dir.cleanup()
