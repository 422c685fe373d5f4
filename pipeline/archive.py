"""The raw archive: every feed and page response kept as WARC records for offline re-extraction."""

from __future__ import annotations

import io
import os
import threading
import uuid
import zlib
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.fetch import decode_body
from pipeline.records import Fetch

GZIP_LEVEL = 1  # records are written once and read rarely: speed over the last 15% of size
# A payload kept as sent (gzip, br) gains nothing from compression: its member only stores it.
STORED_LEVEL = 0
# Headers that describe the transfer, not the payload as stored.
TRANSFER_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})


class ArchiveWriter:
    """Appends response records to one gzipped WARC file; each record is its own gzip member,
    so (file, offset, length) addresses it for random access."""

    def __init__(self, root: Path, prefix: str) -> None:
        day = datetime.now(UTC).strftime("%Y/%m/%d")
        self.root = root
        self.relative = f"{day}/{prefix}-{uuid.uuid4().hex[:12]}.warc.gz"
        self.path = root / self.relative
        self._file: io.BufferedWriter | None = None
        self._lock = threading.Lock()

    def _open(self) -> io.BufferedWriter:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "ab")  # noqa: SIM115 - closed in close()
        return self._file

    def write(self, fetch: Fetch) -> None:
        """Archive a fetch that got a response body, and note where it went on the fetch."""
        if fetch.status is None or not fetch.body:
            return
        # The payload as sent when the fetcher kept it (its Content-Encoding stays, and readers
        # decode it); otherwise the decoded body.
        payload = fetch.raw_body or fetch.body
        dropped = TRANSFER_HEADERS - {"content-encoding"} if fetch.raw_body else TRANSFER_HEADERS
        http_headers = StatusAndHeaders(
            f"{fetch.status} {'OK' if fetch.status == 200 else ''}".strip(),
            [(k, v) for k, v in fetch.headers.items() if k not in dropped]
            + [("Content-Length", str(len(payload)))],
            protocol="HTTP/1.1",
        )
        plain = io.BytesIO()
        writer = WARCWriter(plain, gzip=False)
        record = writer.create_warc_record(
            fetch.final_url or fetch.url,
            "response",
            payload=io.BytesIO(payload),
            http_headers=http_headers,
            warc_headers_dict={"WARC-Date": fetch.started_at.strftime("%Y-%m-%dT%H:%M:%SZ")},
        )
        writer.write_record(record)
        # One gzip member per record, as WARC readers expect, compressed outside the lock and
        # at GZIP_LEVEL: warcio's fixed level 9 cost the flow ~14 ms of CPU a page, level 1
        # still ~2 ms, a stored member of the compressed payload ~0.1 ms.
        level = STORED_LEVEL if fetch.raw_body else GZIP_LEVEL
        compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        member = compressor.compress(plain.getvalue()) + compressor.flush()
        fetch.raw_body = b""
        with self._lock:
            out = self._open()
            offset = out.tell()
            out.write(member)
            out.flush()
        fetch.warc_file = self.relative
        fetch.warc_offset = offset
        fetch.warc_length = len(member)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
                self._file = None


def read_record(root: Path, warc_file: str, offset: int) -> tuple[str, dict[str, str], bytes]:
    """Read one archived response back: (url, lower-cased headers, body)."""
    with open(root / warc_file, "rb") as handle:
        handle.seek(offset)
        for record in ArchiveIterator(handle):
            url = record.rec_headers.get_header("WARC-Target-URI")
            headers = {
                k.lower(): v
                for k, v in (record.http_headers.headers if record.http_headers else [])
            }
            # Decoded by the fetcher's own decoders: warcio's brotli reader fails on brotli 1.1+.
            body = record.raw_stream.read()
            if encoding := headers.get("content-encoding"):
                body = decode_body(body, encoding)
            return url, {k: v for k, v in headers.items() if k not in TRANSFER_HEADERS}, body
    raise ValueError(f"no WARC record at {warc_file}:{offset}")
