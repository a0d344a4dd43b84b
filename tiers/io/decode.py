"""Decode a file into a stream of bytes, member by member, never losing track of a raw byte.

`decode(stream, codec, ledger, hold)` yields `Chunk`s of decoded bytes and `Gap`s where raw bytes
could not be decoded. A gzip file is a sequence of members and a zstd file a sequence of frames; each
is decompressed on its own, so a corrupt one becomes one `Gap` and decoding resumes at the next magic
number. Up to `hold` decoded bytes of a member are held back until the member's checksum has been
verified, so a corrupt member that small passes on nothing; a longer member is passed on as it is
decoded. A file that ends inside a member passes on what was decoded (it is correct) and then a Gap.
Every raw byte ends in a `raw` span of the ledger (see `tiers/io/coverage.py`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from tiers.io.coverage import DECODED, IGNORED, QUARANTINE, RAW, Ledger

READ = 1 << 20
OUT = 1 << 20
_PADDING = frozenset(b"\x00\r\n\t ")


@dataclass
class Chunk:
    """Decoded bytes; `member_start` is the raw offset of the member they came from (None: plain file)."""

    data: bytes
    member_start: int | None


@dataclass
class Gap:
    """Raw bytes `[start, end)` that could not be decoded; one quarantine row."""

    start: int
    end: int
    error_type: str
    error: str
    raw_prefix: bytes


class RawBuffer:
    """A window on a binary stream with absolute offsets: `buf[0]` is the file's byte `base`."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.buf = bytearray()
        self.base = 0
        self.eof = False

    def more(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(READ)
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def ensure(self, n: int) -> None:
        while len(self.buf) < n and self.more():
            pass

    def drop(self, n: int) -> None:
        del self.buf[:n]
        self.base += n

    def skip_to(self, patterns: tuple[bytes, ...], start: int) -> tuple[int, bool]:
        """Drop bytes up to the next occurrence of any pattern at or after relative `start`.

        Returns (number of bytes dropped, whether all of them were padding: NUL or whitespace).
        """
        dropped, padding = 0, True
        keep = max(len(p) for p in patterns) - 1
        while True:
            hits = [i for i in (self.buf.find(p, start) for p in patterns) if i >= 0]
            if hits:
                cut = min(hits)
            elif self.eof:
                cut = len(self.buf)
            else:
                cut = max(start, len(self.buf) - keep)
            padding = padding and _PADDING.issuperset(self.buf[:cut])
            self.drop(cut)
            dropped += cut
            if hits or self.eof:
                return dropped, padding
            start = 0
            self.more()


class Codec:
    """One compression format: its magic numbers and a decompressor per member."""

    name = "plain"
    magics: tuple[bytes, ...] = ()
    in_chunk = 1 << 16
    errors: tuple[type[Exception], ...] = ()

    def new(self):  # noqa: ANN201 - a decompressor object
        raise NotImplementedError

    def feed(self, dec, data: bytes) -> Iterator[bytes]:
        raise NotImplementedError

    def skippable(self, head: bytes) -> int:
        """Length of a skippable frame starting at `head`, or 0."""
        return 0


class GzipCodec(Codec):
    name = "gzip"
    magics = (b"\x1f\x8b\x08",)
    errors = (zlib.error,)

    def new(self):  # noqa: ANN201
        return zlib.decompressobj(31)

    def feed(self, dec, data: bytes) -> Iterator[bytes]:
        while True:
            out = dec.decompress(data, OUT)
            if out:
                yield out
            if dec.eof:
                return
            data = dec.unconsumed_tail
            if not data and len(out) < OUT:
                return


class ZstdCodec(Codec):
    """zstd frames; input goes in small pieces because the decompressor has no output limit."""

    name = "zstd"
    magics = (b"\x28\xb5\x2f\xfd",)
    in_chunk = 1 << 10

    def __init__(self) -> None:
        import zstandard

        self._zstd = zstandard
        self.errors = (zstandard.ZstdError,)

    def new(self):  # noqa: ANN201
        return self._zstd.ZstdDecompressor().decompressobj()

    def feed(self, dec, data: bytes) -> Iterator[bytes]:
        out = dec.decompress(data)
        if out:
            yield out

    def skippable(self, head: bytes) -> int:
        if len(head) >= 8 and head[1:4] == b"\x2a\x4d\x18" and 0x50 <= head[0] <= 0x5F:
            return 8 + int.from_bytes(head[4:8], "little")
        return 0


def codec_for(path: str, head: bytes) -> Codec | None:
    """The codec of a file from its first bytes (then its name); None for a plain file."""
    if head.startswith(GzipCodec.magics):
        return GzipCodec()
    if head.startswith(ZstdCodec.magics):
        return ZstdCodec()
    lower = path.lower()
    if lower.endswith(".gz"):
        return GzipCodec()
    if lower.endswith((".zst", ".zstd")):
        return ZstdCodec()
    return None


def decode(stream: BinaryIO, codec: Codec | None, ledger: Ledger, hold: int) -> Iterator[Chunk | Gap]:
    """Decoded bytes and undecodable gaps of a whole file, in order."""
    if codec is None:
        yield from _plain(stream, ledger)
    else:
        yield from _members(RawBuffer(stream), codec, ledger, hold)


def _plain(stream: BinaryIO, ledger: Ledger) -> Iterator[Chunk]:
    position = 0
    while True:
        data = stream.read(READ)
        if not data:
            return
        ledger.add(RAW, position, position + len(data), DECODED, out=len(data))
        position += len(data)
        yield Chunk(data, None)


def _members(rb: RawBuffer, codec: Codec, ledger: Ledger, hold: int) -> Iterator[Chunk | Gap]:
    while True:
        rb.ensure(16)
        if not rb.buf:
            return
        start = rb.base
        skip = codec.skippable(bytes(rb.buf[:8]))
        if skip:
            rb.ensure(skip)
            length = min(skip, len(rb.buf))
            rb.drop(length)
            ledger.add(RAW, start, start + length, IGNORED, reason=f"{codec.name} skippable frame")
            continue
        if not rb.buf.startswith(codec.magics):
            prefix = bytes(rb.buf[:256])
            dropped, padding = rb.skip_to(codec.magics, 1)
            if padding:
                ledger.add(RAW, start, start + dropped, IGNORED, reason=f"padding outside {codec.name} members")
            else:
                ledger.add(RAW, start, start + dropped, QUARANTINE, units=1)
                yield Gap(
                    start,
                    start + dropped,
                    "CorruptCompression",
                    f"{dropped} bytes outside any {codec.name} member",
                    prefix,
                )
            continue
        yield from _member(rb, codec, ledger, hold)


def _member(rb: RawBuffer, codec: Codec, ledger: Ledger, hold: int) -> Iterator[Chunk | Gap]:
    start, prefix = rb.base, bytes(rb.buf[:256])
    dec = codec.new()
    held: list[bytes] = []
    held_bytes = emitted = 0
    fed = 0  # bytes of rb.buf given to the decompressor
    error: tuple[str, str] | None = None
    while True:
        if fed >= len(rb.buf):
            if emitted or held_bytes > hold:
                rb.drop(fed)  # streaming a long member: keep memory bounded
                fed = 0
            if not rb.more():
                error = ("TruncatedMember", f"file ends inside the {codec.name} member")
                break
        data = bytes(rb.buf[fed : fed + codec.in_chunk])
        fed += len(data)
        try:
            for piece in codec.feed(dec, data):
                held.append(piece)
                held_bytes += len(piece)
                if held_bytes > hold:
                    yield Chunk(b"".join(held), start)
                    emitted += held_bytes
                    held, held_bytes = [], 0
        except codec.errors as exc:
            error = ("CorruptCompression", f"corrupt {codec.name} member: {exc}")
            break
        if dec.eof:
            fed -= len(dec.unused_data)
            break
    if error is None:
        if held:
            yield Chunk(b"".join(held), start)
        total = emitted + held_bytes
        end = rb.base + fed
        rb.drop(fed)
        ledger.add(RAW, start, end, DECODED, out=total)
        return
    if error[0] == "TruncatedMember":  # what was decoded before the end of the file is correct
        if held:
            yield Chunk(b"".join(held), start)
        emitted += held_bytes
        dropped = len(rb.buf)
        rb.drop(dropped)
    else:
        dropped, _ = rb.skip_to(codec.magics, 1 if rb.base == start else 0)
    end = rb.base
    ledger.add(RAW, start, end, QUARANTINE, units=1, out=emitted)
    detail = f"; {emitted} decoded bytes before it were read" if emitted else ""
    yield Gap(start, end, error[0], f"{error[1]} (raw bytes {start}-{end}){detail}", prefix)
