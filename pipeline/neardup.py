"""Near-duplicate detection: MinHash of word 5-gram shingles, LSH bands, Jaccard and containment."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np

SHINGLE_WORDS = 5
NUM_PERM = 128
BANDS = 32
ROWS = 4  # BANDS * ROWS == NUM_PERM
JACCARD_THRESHOLD = 0.8
CONTAINMENT_THRESHOLD = 0.8
MIN_SHINGLES_CONTAINMENT = 50  # containment only counts when the shorter text is this long
MIN_SHINGLES = 8  # shorter texts are matched by exact content hash only
SEED = 20261127
# Stored beside each signature: a change of any parameter above must change this string.
SIGNATURE_VERSION = f"minhash2-w{SHINGLE_WORDS}-p{NUM_PERM}-b{BANDS}x{ROWS}-crc32poly-ms{SEED}"

_WORD = re.compile(r"\w+")
_CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # kana and ideographs
_HAS_CJK = re.compile(f"[{_CJK_CHARS}]")
_CJK_SPLIT = re.compile(f"[{_CJK_CHARS}]|[^{_CJK_CHARS}]+")
_rng = np.random.default_rng(SEED)
# Multiply-shift hashing: (a*h + b) mod 2^64, top 32 bits; `a` odd. One (a, b) per permutation.
_A = _rng.integers(1, 2**63, NUM_PERM, dtype=np.uint64) | np.uint64(1)
_B = _rng.integers(0, 2**63, NUM_PERM, dtype=np.uint64)
_SHINGLE_BASE = np.uint64(0x9E3779B97F4A7C15)
_BAND_MIX = _rng.integers(1, 2**63, ROWS, dtype=np.uint64) | np.uint64(1)


@dataclass(frozen=True)
class Signature:
    """A text's MinHash signature (NUM_PERM uint32 values) and its number of distinct shingles."""

    values: bytes
    shingles: int

    def array(self) -> np.ndarray:
        return np.frombuffer(self.values, dtype=np.uint32)


def shingle_hashes(text: str) -> np.ndarray:
    """Distinct 32-bit hashes of the text's word 5-grams (case-folded, punctuation dropped)."""
    # Scripts written without spaces (Chinese, Japanese) have no words to shingle: each
    # ideograph or kana counts as one, or a whole sentence would be a single "word".
    words = [
        part
        for word in _WORD.findall(text.casefold())
        for part in (_CJK_SPLIT.findall(word) if _HAS_CJK.search(word) else (word,))
    ]
    if not words:
        return np.empty(0, dtype=np.uint64)
    # Hash each word once, then combine each run of SHINGLE_WORDS word hashes polynomially in
    # numpy: a tenth of the cost of joining and hashing every 5-gram string.
    word_hashes = np.fromiter((zlib.crc32(w.encode("utf-8")) for w in words), np.uint64, len(words))
    n = max(1, len(words) - SHINGLE_WORDS + 1)
    acc = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(min(SHINGLE_WORDS, len(words))):
            acc = acc * _SHINGLE_BASE + word_hashes[k : k + n]
    return np.unique(acc >> np.uint64(32))


def signature(text: str) -> Signature | None:
    """The MinHash signature of a text, or None when it is too short to compare by shingles."""
    hashes = shingle_hashes(text)
    if len(hashes) < MIN_SHINGLES:
        return None
    with np.errstate(over="ignore"):
        permuted = (np.multiply.outer(hashes, _A) + _B) >> np.uint64(32)
    values = permuted.min(axis=0).astype(np.uint32)
    return Signature(values=values.tobytes(), shingles=int(len(hashes)))


def band_hashes(sig: Signature) -> list[int]:
    """One signed 64-bit hash per LSH band (BANDS bands of ROWS values)."""
    rows = sig.array().astype(np.uint64).reshape(BANDS, ROWS)
    with np.errstate(over="ignore"):
        mixed = (rows * _BAND_MIX).sum(axis=1, dtype=np.uint64)
    return [int(v) for v in mixed.view(np.int64)]


def jaccard(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity: the share of equal signature values."""
    return float(np.count_nonzero(a.array() == b.array())) / NUM_PERM


def containment(a: Signature, b: Signature, similarity: float | None = None) -> float:
    """Estimated share of the shorter text's shingles found in the longer one:
    |A∩B| = J·|A∪B| and |A∪B| = (|A| + |B|) / (1 + J)."""
    j = jaccard(a, b) if similarity is None else similarity
    if j <= 0:
        return 0.0
    intersection = j * (a.shingles + b.shingles) / (1 + j)
    return min(1.0, intersection / min(a.shingles, b.shingles))


def is_near_duplicate(a: Signature, b: Signature) -> tuple[bool, float, float]:
    """(match, estimated Jaccard, estimated containment) by the two rules."""
    j = jaccard(a, b)
    c = containment(a, b, j)
    if j >= JACCARD_THRESHOLD:
        return True, j, c
    long_enough = min(a.shingles, b.shingles) >= MIN_SHINGLES_CONTAINMENT
    return long_enough and c >= CONTAINMENT_THRESHOLD, j, c
