"""Hostile inputs built at test time (no binary blobs in the repository): PDFs with broken streams."""

from __future__ import annotations

import zlib

TEXT_PAGE = b"BT /F1 12 Tf 72 720 Td (Semiconductor subsidies were announced in 2022 by the council.) Tj ET"


def pdf(streams: list[tuple[bytes, str]]) -> bytes:
    """A PDF with one page per (stream bytes, extra stream-dictionary entries), Helvetica as /F1.

    The entries are written verbatim, so a test can declare a filter or a length the bytes do not have.
    """
    objects: list[bytes] = []
    count = len(streams)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(count))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode())
    font = 3 + 2 * count
    for i, (data, entries) in enumerate(streams):
        content = 4 + 2 * i
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode()
        )
        dictionary = entries if "/Length" in entries else f"/Length {len(data)} {entries}"
        objects.append(f"<< {dictionary} >>\nstream\n".encode() + data + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def deflate_bomb(inflated_bytes: int) -> bytes:
    """A zlib stream of spaces that inflates to ``inflated_bytes`` (rounded down to whole MB), about
    1000:1. One 1 MB block is compressed and byte-aligned with a full flush, which resets the
    compressor, so every later block compresses to the same bytes: the stream is that block
    repeated, an empty final block and the Adler-32 of the whole. Nothing near the inflated size is
    ever held in memory."""
    block = b" " * (1 << 20)
    compressor = zlib.compressobj(9)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)  # the 2-byte zlib header, then data
    repeat = first[2:]
    checksum = 1
    for _ in range(inflated_bytes >> 20):
        checksum = zlib.adler32(block, checksum)
    return first + repeat * ((inflated_bytes >> 20) - 1) + b"\x03\x00" + checksum.to_bytes(4, "big")


def text_pdf() -> bytes:
    return pdf([(TEXT_PAGE, "")])


def unknown_filter_pdf() -> bytes:
    """Page 1 readable; page 2's content stream declares a filter no reader knows."""
    return pdf([(TEXT_PAGE, ""), (b"x\x9c garbage", "/Filter /NoSuchDecode")])


def huge_length_pdf() -> bytes:
    """Page 1 readable; page 2's stream says it is 2 GB long."""
    return pdf([(TEXT_PAGE, ""), (TEXT_PAGE, "/Length 2000000000")])


def bomb_pdf(inflated_bytes: int = 1_100_000_000) -> bytes:
    """Page 1 readable; page 2's FlateDecode stream inflates to 1.1 GB."""
    return pdf([(TEXT_PAGE, ""), (deflate_bomb(inflated_bytes), "/Filter /FlateDecode")])
