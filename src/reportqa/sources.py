"""The works the documents cite: where each is in the corpus, and downloading the openly available ones.

Only what the report itself identifies: arXiv ids (fetched from ``{base}/pdf/{id}``; the base is
configurable so tests and mirrors can stand in for arxiv.org) and direct http(s) links. Each
download has a timeout, a size limit and a content-type check (PDF or HTML); nothing reaches the
corpus unless all three pass. The URL and sha256 are recorded in the document's metadata.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import Path

from .config import Settings
from .corpus import corpus_folder, safe_name
from .records import BuildReport, Reference
from .retrieve import IndexVersion

DEFAULT_ARXIV_BASE = "https://arxiv.org"
TIMEOUT_S = 15  # for each read: a server that says nothing for this long is given up on
DEADLINE_S = 120  # for a whole download: a server that sends a byte now and then is given up on too


@dataclass(frozen=True)
class Fetched:
    reference: Reference
    url: str
    path: Path | None
    error: str | None = None


def cited_works(version: IndexVersion) -> list[tuple[str, Reference, str | None]]:
    """Every footnote and reference-list entry of the indexed documents: (citing document path,
    reference, path of the corpus document it resolves to or None)."""
    store, citations = version.store, version.citations()
    out = []
    for entry in sorted(store.documents.values(), key=lambda d: d.path):
        for reference, target in citations.references(entry.doc_id):
            out.append((entry.path, reference, store.documents[target].path if target else None))
    return out


def fetch_cited(
    works: list[tuple[str, Reference, str | None]],
    settings: Settings,
    build: Callable[[], BuildReport],
    only: list[str] | None = None,
    arxiv_base: str | None = None,
) -> tuple[list[Fetched], BuildReport | None]:
    """Download the cited ``works`` not in the corpus that can be fetched, then ``build``; a download the
    build could not index leaves the corpus again, as with ``add``."""
    base = arxiv_base or os.environ.get("REPORTQA_ARXIV_BASE") or DEFAULT_ARXIV_BASE
    wanted, seen_urls = [], set()
    for _, reference, target in works:
        url = source_url(reference, base)
        if target is None and url and url not in seen_urls and (not only or reference.marker in only):
            seen_urls.add(url)
            wanted.append(reference)
    corpus, max_bytes = Path(settings.corpus_dir), int(settings.max_file_mb * 1e6)
    if wanted:
        corpus_folder(corpus, create=True)  # before any download: a file named as the corpus is refused
    results = [fetch(r, corpus, max_bytes, base, deadline=settings.fetch_deadline_s) for r in wanted]
    report = build() if any(r.path for r in results) else None
    if report is not None:
        skipped, dropped = dict(report.skipped), set()
        for number, result in enumerate(results):
            if result.path is not None and result.path.name in skipped:
                dropped.add(result.path.name)
                result.path.unlink(missing_ok=True)
                result.path.with_name(result.path.name + ".meta.json").unlink(missing_ok=True)
                results[number] = replace(result, path=None, error=f"{skipped[result.path.name]}; not kept")
        report.skipped = [(name, reason) for name, reason in report.skipped if name not in dropped]
    return results, report


def source_url(reference: Reference, arxiv_base: str = DEFAULT_ARXIV_BASE) -> str | None:
    """Where a cited work can be downloaded from, if the citation says."""
    if reference.arxiv:
        return f"{arxiv_base.rstrip('/')}/pdf/{reference.arxiv}"
    if reference.url:
        return reference.url
    return None


def fetch(
    reference: Reference,
    corpus: Path,
    max_bytes: int,
    arxiv_base: str = DEFAULT_ARXIV_BASE,
    timeout: float = TIMEOUT_S,
    deadline: float = DEADLINE_S,
) -> Fetched:
    """Download one cited work into the ``corpus`` folder (``fetch_cited`` makes sure it is one); on
    any failure the corpus is left untouched."""
    url = source_url(reference, arxiv_base)
    if url is None:
        return Fetched(reference, "", None, "the citation gives no arXiv id or link")
    try:
        data, content_type = _download(url, max_bytes, timeout, deadline)
    except _Refused as e:
        return Fetched(reference, url, None, str(e))
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        reason = getattr(e, "reason", e)
        return Fetched(reference, url, None, f"cannot download {url}: {reason} (no network?)")
    if content_type == "application/pdf":
        if not data.startswith(b"%PDF"):
            return Fetched(reference, url, None, f"{url} says PDF but is not one")
        name, body = _file_name(reference, url, ".pdf"), data
    else:
        name, body = _file_name(reference, url, ".txt"), html_to_text(data.decode("utf-8", "replace")).encode()
    target = corpus / safe_name(name)
    target.write_bytes(body)
    meta = {
        "title": reference.title or reference.label,
        "authors": reference.authors,
        "year": reference.year,
        "source_url": url,
        "sha256": hashlib.sha256(data).hexdigest(),
        "fetched": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "cited_as": reference.marker,
    }
    target.with_name(target.name + ".meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))
    return Fetched(reference, url, target)


class _Refused(Exception):
    pass


def _download(url: str, max_bytes: int, timeout: float, deadline: float) -> tuple[bytes, str]:
    if not url.startswith(("http://", "https://")):
        raise _Refused(f"{url}: only http(s) links are fetched")
    give_up = time.monotonic() + deadline
    request = urllib.request.Request(url, headers={"User-Agent": "reportqa (cited-source fetcher)"})
    with urllib.request.urlopen(request, timeout=min(timeout, deadline)) as response:
        content_type = (response.headers.get_content_type() or "").lower()
        if content_type not in ("application/pdf", "text/html"):
            raise _Refused(f"{url}: refused content type '{content_type}' (only PDF or HTML)")
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise _Refused(f"{url}: {int(declared) / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit")
        parts, size = [], 0
        while block := response.read1(1 << 16):  # whatever has arrived, so the deadline is checked between
            parts.append(block)
            size += len(block)
            if size > max_bytes:
                raise _Refused(f"{url}: larger than the {max_bytes / 1e6:.0f} MB limit")
            if time.monotonic() > give_up:
                raise _Refused(f"{url}: not finished within {deadline:g} s ({size:,} bytes so far), given up")
    return b"".join(parts), content_type


def _file_name(reference: Reference, url: str, suffix: str) -> str:
    if reference.arxiv:
        return f"arxiv-{reference.arxiv}{suffix}"
    stem = re.sub(r"[^0-9A-Za-z]+", "-", url.split("://", 1)[-1]).strip("-")[:80]
    return f"{stem}{suffix}"


class _TextExtractor(HTMLParser):
    SKIP = {"script", "style", "noscript", "head"}

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self._skipping += 1
        elif tag in ("p", "br", "div", "li", "h1", "h2", "h3", "h4", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data):
        if not self._skipping:
            self.parts.append(data)


def html_to_text(page: str) -> str:
    """Visible text of an HTML page, one block per line."""
    parser = _TextExtractor()
    parser.feed(page)
    text = html.unescape("".join(parser.parts))
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())
