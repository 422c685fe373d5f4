"""Build a synthetic 1M-article warehouse, time its views and queries, and its ingest cost."""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "pages"
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from pipeline import neardup  # noqa: E402
from pipeline.corpus import absent_reason, load_pages  # noqa: E402
from pipeline.dedup import content_hash  # noqa: E402
from pipeline.records import Article, Entry, FeedResult, Fetch, PageResult, ParsedFeed  # noqa: E402
from pipeline.store import Warehouse, name_key  # noqa: E402
from pipeline.urls import url_key  # noqa: E402

SITES = 300
AUTHORS = 20_000
CATEGORIES = 200
TAGS = 20_000
DAYS = 730  # published_at spans the two years before now
CLUSTERED = 0.10  # share of articles in clusters of 2-5
UPDATED = 0.01  # share of articles with a second version
NO_DATE = 0.03  # share without published_at
EXTRACTOR = "news-ingest-extract/1+trafilatura-2.0.0"
US_HOUR = 3_600_000_000


def words(text: str) -> list[str]:
    return text.split()


PLACES = words(
    "Aberdeen Albany Ashford Bayside Bristol Brookfield Camden Carlton Cedar Clifton Dover Eastwood"
    " Fairview Franklin Glendale Hampton Harbor Highland Kingston Lakeside Lincoln Madison Marlow"
    " Milford Newport Northgate Oakridge Oxford Preston Richmond Riverside Salem Seaview Sheffield"
    " Springfield Stanton Sutton Tremont Union Valley Westfield Weston Windsor Winston Yorkshire"
    " Alpine Baltic Coastal Delta Metro Midland Northern Pacific Southern Western"
)
MASTHEADS = words(
    "Herald Times Post Gazette Chronicle Tribune Courier Observer Journal Standard Review Express"
    " Bulletin Ledger Sentinel Record Mirror Examiner Telegraph Dispatch"
)
SECTIONS = words(
    "World Politics Business Sport Technology Science Health Culture Opinion Local Travel Food"
    " Education Environment Entertainment Music Film Books Economy Markets Football Tennis Motoring"
    " Property Lifestyle Fashion Weather Crime Courts Media Religion Energy Climate Transport"
    " Defence Europe Asia Africa Americas Gaming"
)
SECTION_VARIANTS = ("", " News", " Analysis", " Live", " Briefing")  # 40 x 5 = 200 categories
LANGUAGES = ("en", "de", "fr", "es", "it", "nl")
LANGUAGE_WEIGHTS = (0.8, 0.08, 0.04, 0.04, 0.02, 0.02)
PROVENANCE = (
    '{"authors": "jsonld", "published_at": "jsonld", "title": "jsonld"}',
    '{"authors": "meta", "published_at": "opengraph", "title": "opengraph"}',
    '{"authors": "feed", "published_at": "feed", "title": "feed"}',
    '{"title": "trafilatura"}',
)


def ts_array(us: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """Epoch microseconds as a TIMESTAMPTZ column (NULL where `null`)."""
    return pa.array(us.astype(np.int64), type=pa.timestamp("us", tz="UTC"), mask=null)


def zipf_weights(n: int, s: float, offset: float = 1.0) -> np.ndarray:
    w = 1.0 / (np.arange(n) + offset) ** s
    return w / w.sum()


def list_column(counts: np.ndarray, values: pa.Array) -> pa.Array:
    offsets = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def links(
    rng: np.random.Generator, n: int, counts: np.ndarray, pick: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Link rows: (row in chunk, id, position), `counts[i]` picks for row i, repeats dropped."""
    rows = np.repeat(np.arange(n), counts)
    ids = pick(rows)
    position = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    _, first = np.unique(rows.astype(np.int64) * 10_000_000 + ids, return_index=True)
    keep = np.sort(first)
    return rows[keep], ids[keep], position[keep]


class Corpus:
    """The shared corpus pages' records: real text, titles and names to draw from."""

    def __init__(self, folder: Path) -> None:
        self.records = [page.record for page in load_pages(folder)]
        self.records = [r for r in self.records if len(r.get("body_text") or "") >= 500]
        self.source = " ".join(" ".join(r["body_text"].split()) for r in self.records)
        self.word_starts = np.array(
            [m.start() for m in re.finditer(r"(?<= )\S", self.source)], dtype=np.int64
        )
        words: dict[str, str] = {}
        for r in self.records:
            for w in re.findall(r"[^\W\d_]{4,}", r["body_text"]):
                words.setdefault(name_key(w), w[:1].upper() + w[1:])
        self.words = list(words.values())
        names = {" ".join(a.split()) for r in self.records for a in r.get("authors") or []}
        names = {n for n in names if len(n.split()) >= 2}
        self.first = sorted({n.split()[0] for n in names})
        self.last = sorted({n.split()[-1] for n in names})


class Generator:
    """Synthetic but realistic rows for every table, chunk by chunk, loaded through Arrow."""

    def __init__(self, corpus: Corpus, total: int, seed: int, signatures: bool) -> None:
        self.rng = np.random.default_rng(seed)
        self.corpus = corpus
        self.total = total
        self.signatures = signatures
        rng = self.rng
        self.now_us = int(datetime.now(UTC).replace(minute=0, second=0, microsecond=0).timestamp())
        self.now_us *= 1_000_000
        self.start_us = self.now_us - DAYS * 24 * US_HOUR
        combos = [f"{p} {m}" for p in PLACES for m in MASTHEADS]
        picks = rng.choice(len(combos), SITES, replace=False)
        self.site_names = [f"The {combos[i]}" for i in picks]
        self.hosts = [combos[i].lower().replace(" ", "") + ".example" for i in picks]
        self.site_weights = zipf_weights(SITES, 0.9, 5.0)
        self.site_language = rng.choice(len(LANGUAGES), SITES, p=LANGUAGE_WEIGHTS)
        # Feeds: 1-3 per site.
        per_site = rng.integers(1, 4, SITES)
        self.feed_lo = np.concatenate([[0], np.cumsum(per_site)[:-1]]) + 1
        self.feed_count = per_site
        self.feeds = int(per_site.sum())
        # Authors: each outlet has its own pool (contiguous ids), sized by its share.
        sizes = np.maximum(5, np.floor(self.site_weights * (AUTHORS - 5 * SITES))).astype(np.int64)
        sizes[0] += AUTHORS - sizes.sum()
        self.author_lo = np.concatenate([[0], np.cumsum(sizes)[:-1]]) + 1
        self.author_size = sizes
        initials = [f" {c}." for c in "ABCDEFGHJKLMNPRSTW"]
        names: list[str] = []
        seen: set[str] = set()
        while len(names) < AUTHORS:
            f = corpus.first[rng.integers(len(corpus.first))] if corpus.first else "Alex"
            last = corpus.last[rng.integers(len(corpus.last))] if corpus.last else "Writer"
            mid = initials[rng.integers(len(initials))] if rng.random() < 0.5 else ""
            name = f"{f}{mid} {last}"
            if name not in seen:
                seen.add(name)
                names.append(name)
            elif len(seen) > 10 * AUTHORS:  # a tiny corpus: number the rest
                names.append(f"{name} {len(names)}")
        self.author_names = pa.array(names)
        self.category_names = [s + v for v in SECTION_VARIANTS for s in SECTIONS][:CATEGORIES]
        self.category_slugs = np.array([name_key(c).replace(" ", "-") for c in self.category_names])
        self.category_weights = zipf_weights(CATEGORIES, 1.0)
        tags: list[str] = []
        keys: set[str] = set()
        pool = corpus.words or ["Topic"]
        for w in [*pool, *(f"{a} {b}" for a, b in zip(pool, pool[1:], strict=False))]:
            if len(tags) >= TAGS:
                break
            if name_key(w) not in keys:
                keys.add(name_key(w))
                tags.append(w)
        while len(tags) < TAGS:
            tags.append(f"Topic {len(tags)}")
        self.tag_names = tags
        self.tag_weights = zipf_weights(TAGS, 1.05)
        self.run_count = np.zeros(DAYS * 24 + 2, dtype=np.int64)

    # -- dimension tables ------------------------------------------------------------------------

    def load_dimensions(self, wh: Warehouse) -> None:
        rng = self.rng
        site_of_feed = np.repeat(np.arange(SITES), self.feed_count)
        section = [SECTIONS[i % len(SECTIONS)].lower() for i in range(self.feeds)]
        failing = rng.random(self.feeds) < 0.05
        feeds = pa.table(
            {
                "feed_id": np.arange(1, self.feeds + 1),
                "url": [
                    f"https://www.{self.hosts[s]}/rss/{section[i]}-{i + 1}.xml"
                    for i, s in enumerate(site_of_feed)
                ],
                "title": [
                    f"{self.site_names[s]}: {section[i]}" for i, s in enumerate(site_of_feed)
                ],
                "site_url": [f"https://www.{self.hosts[s]}/" for s in site_of_feed],
                "last_fetched_at": ts_array(np.full(self.feeds, self.now_us - 600_000_000)),
                "last_status": pa.array(np.where(failing, 503, 200), pa.int32()),
                "last_error": pa.array(["HTTP 503" if f else None for f in failing], pa.string()),
                "consecutive_failures": pa.array(
                    np.where(failing, rng.integers(1, 6, self.feeds), 0), pa.int32()
                ),
                "format": pa.array(["rss20"] * self.feeds),
                "ttl_minutes": pa.array(np.full(self.feeds, 30), pa.int32()),
                "added_at": ts_array(np.full(self.feeds, self.start_us)),
                "active": pa.array([True] * self.feeds),
                "guid_mode": pa.array(["guid"] * self.feeds),
                "next_fetch_at": ts_array(np.full(self.feeds, self.now_us + 1_800_000_000)),
                "poll_interval_s": pa.array(np.full(self.feeds, 1800), pa.int32()),
            }
        )
        authors = pa.table({"author_id": np.arange(1, AUTHORS + 1), "name": self.author_names})
        categories = pa.table(
            {
                "category_id": np.arange(1, CATEGORIES + 1),
                "name": self.category_names,
                "key": [name_key(c) for c in self.category_names],
            }
        )
        tags = pa.table(
            {
                "tag_id": np.arange(1, TAGS + 1),
                "name": self.tag_names,
                "key": [name_key(t) for t in self.tag_names],
            }
        )
        with wh.transaction():
            for name, table in (
                ("feeds", feeds),
                ("authors", authors),
                ("categories", categories),
                ("tags", tags),
            ):
                wh.load_table(name, table)

    def load_runs(self, wh: Warehouse) -> None:
        hours = len(self.run_count)
        started = self.start_us + np.arange(hours) * US_HOUR
        runs = pa.table(
            {
                "run_id": np.arange(1, hours + 1),
                "started_at": ts_array(started),
                "finished_at": ts_array(started + 150_000_000),
                "status": pa.array(["completed"] * hours),
                "mode": pa.array(["scheduled"] * hours),
                "feeds_total": pa.array(np.full(hours, self.feeds), pa.int32()),
                "feeds_fetched": pa.array(np.full(hours, self.feeds // 2), pa.int32()),
                "feeds_not_modified": pa.array(np.full(hours, self.feeds // 2), pa.int32()),
                "entries_new": pa.array(self.run_count, pa.int32()),
                "pages_fetched": pa.array(self.run_count, pa.int32()),
                "articles_new": pa.array(self.run_count, pa.int32()),
            }
        )
        with wh.transaction():
            wh.load_table("runs", runs)
            # Each feed's publishing rate over its last 14 days, as the scheduler keeps it.
            wh.execute(
                "UPDATE feeds SET entries_per_day = r.rate FROM (SELECT feed_id,"
                " count(*) FILTER (WHERE published_at >= ?) / 14.0 AS rate"
                " FROM feed_entries GROUP BY feed_id) r WHERE feeds.feed_id = r.feed_id",
                [datetime.fromtimestamp(self.now_us / 1e6, UTC) - timedelta(days=14)],
            )

    # -- articles --------------------------------------------------------------------------------

    def texts(self, n: int, prefix: list[str], lo: int, hi: int) -> list[str]:
        starts = self.corpus.word_starts
        offsets = starts[self.rng.integers(0, len(starts) - 200, n)].tolist()
        lengths = self.rng.integers(lo, hi + 1, n).tolist()
        src = self.corpus.source
        return [
            p + src[o : o + k].rsplit(" ", 1)[0]
            for p, o, k in zip(prefix, offsets, lengths, strict=True)
        ]

    def chunk(self, wh: Warehouse, lo: int, hi: int) -> None:
        """Articles lo+1..hi (their ids) and every row that hangs off them, one transaction."""
        rng = self.rng
        n = hi - lo
        ids = np.arange(lo + 1, hi + 1, dtype=np.int64)
        span = self.now_us - self.start_us - 4 * US_HOUR
        published = self.start_us + ((ids - 0.5) / self.total * span).astype(np.int64)
        published += rng.integers(-US_HOUR, US_HOUR, n)
        fetched = published + rng.integers(120_000_000, 3 * US_HOUR, n)
        no_date = rng.random(n) < NO_DATE
        run = np.clip((fetched - self.start_us) // US_HOUR, 0, len(self.run_count) - 1)
        np.add.at(self.run_count, run, 1)
        run_id = run + 1
        site = rng.choice(SITES, n, p=self.site_weights)
        feed_id = self.feed_lo[site] + (rng.random(n) * self.feed_count[site]).astype(np.int64)
        lang = np.array(LANGUAGES)[self.site_language[site]]
        # Categories: 0-2, the first one names the URL's section.
        n_cat = rng.choice(3, n, p=(0.08, 0.80, 0.12))
        cat_rows, cat_ids, _ = links(
            rng, n, n_cat, lambda r: rng.choice(CATEGORIES, len(r), p=self.category_weights) + 1
        )
        primary = np.full(n, 0, dtype=np.int64)
        first = np.unique(cat_rows, return_index=True)[1]
        primary[cat_rows[first]] = cat_ids[first] - 1
        section = self.category_slugs[primary]
        day_src = np.where(no_date, fetched, published).astype("datetime64[us]")
        days = np.datetime_as_string(day_src, unit="D")
        hosts = np.array(self.hosts)[site]
        url_keys = [
            f"{h}/{s}/{d.replace('-', '/')}/story-{i}.html"
            for h, s, d, i in zip(hosts, section, days, ids.tolist(), strict=True)
        ]
        urls = [f"https://www.{k}" for k in url_keys]
        names = np.array(self.site_names)[site]
        datelines = [f"{nm.split()[1].upper()} — " for nm in names]
        titles = [t[:1].upper() + t[1:] for t in self.texts(n, [""] * n, 40, 90)]
        texts = self.texts(n, datelines, 200, 500)
        # Clusters: heads with 1-4 later copies (same text: content_hash; edited: near_duplicate).
        cluster = ids.copy()
        taken = np.zeros(n, dtype=bool)
        heads = np.sort(rng.choice(n, int(n * CLUSTERED / 3.5), replace=False))
        taken[heads] = True
        dup_rows: list[tuple[int, int, str]] = []
        for h in heads.tolist():
            for off in rng.integers(1, 2000, rng.integers(1, 5)).tolist():
                m = h + off
                if m >= n or taken[m]:
                    continue
                taken[m] = True
                cluster[m] = ids[h]
                exact = rng.random() < 0.5
                texts[m] = texts[h] if exact else texts[h] + " (Updated with reporting.)"
                dup_rows.append((m, h, "content_hash" if exact else "near_duplicate"))
        hashes = [content_hash(t) for t in texts]
        # A few articles were updated: version 2 is in articles, both in article_versions.
        updated = np.flatnonzero(rng.random(n) < UPDATED)
        v1_text = {i: texts[i] for i in updated.tolist()}
        v1_hash = {i: hashes[i] for i in updated.tolist()}
        for i in updated.tolist():
            texts[i] = texts[i] + " Correction: an earlier version misstated a figure."
            hashes[i] = content_hash(texts[i])
        version = np.ones(n, dtype=np.int32)
        version[updated] = 2
        modified = np.where(version == 2, fetched + 6 * US_HOUR, published)
        has_modified = (rng.random(n) < 0.3) | (version == 2)
        from_feed = rng.random(n) < 0.03  # the page failed: the entry's text was used
        description = [t[:160] for t in texts]
        has_image = rng.random(n) < 0.7
        provenance = np.array(PROVENANCE)[rng.choice(len(PROVENANCE), n, p=(0.5, 0.3, 0.1, 0.1))]
        articles = pa.table(
            {
                "article_id": ids,
                "url": urls,
                "canonical_url": urls,
                "url_key": url_keys,
                "title": titles,
                "text": texts,
                "description": description,
                "language": pa.array(lang, mask=rng.random(n) < 0.04),
                "published_at": ts_array(published, no_date),
                "modified_at": ts_array(modified, ~has_modified),
                "site_name": pa.array(names, mask=rng.random(n) < 0.02),
                "image": pa.array(
                    [
                        f"https://www.{h}/img/{i}.jpg"
                        for h, i in zip(hosts, ids.tolist(), strict=True)
                    ],
                    mask=~has_image,
                ),
                "content_hash": hashes,
                "cluster_id": cluster,
                "fetched_at": ts_array(fetched),
                "fetch_id": ids,
                "source": np.where(from_feed, "feed", "page"),
                "fallback_reason": pa.array(["HTTP 503"] * n, mask=~from_feed),
                "extractor_version": pa.array([EXTRACTOR] * n),
                "provenance": provenance,
                "run_id": run_id,
                "version": pa.array(version),
            }
        )
        versions = pa.table(
            {
                "article_id": np.concatenate([ids, ids[updated]]),
                "version": pa.array(
                    np.concatenate([np.ones(n), version[updated]]).astype(np.int32)
                ),
                "content_hash": [v1_hash.get(i, h) for i, h in enumerate(hashes)]
                + [hashes[i] for i in updated.tolist()],
                "title": titles + [titles[i] for i in updated.tolist()],
                "text": [v1_text.get(i, t) for i, t in enumerate(texts)]
                + [texts[i] for i in updated.tolist()],
                "modified_at": pa.concat_arrays(
                    [ts_array(published, no_date), ts_array(modified[updated])]
                ),
                "fetched_at": ts_array(np.concatenate([fetched, fetched[updated] + 6 * US_HOUR])),
                "fetch_id": np.concatenate([ids, ids[updated]]),
            }
        )
        # Authors: 0-3 from the outlet's pool, in byline order.
        n_auth = rng.choice(4, n, p=(0.08, 0.60, 0.24, 0.08))
        au_rows, au_ids, au_pos = links(
            rng,
            n,
            n_auth,
            lambda r: (
                self.author_lo[site[r]]
                + (rng.random(len(r)) * self.author_size[site[r]]).astype(np.int64)
            ),
        )
        # Tags: 2-8, Zipf-distributed over the 20k (a few of them on most articles).
        n_tag = rng.integers(2, 9, n)
        tag_rows, tag_ids, _ = links(
            rng, n, n_tag, lambda r: rng.choice(TAGS, len(r), p=self.tag_weights) + 1
        )
        counts_of = {
            "authors": np.bincount(au_rows, minlength=n),
            "categories": np.bincount(cat_rows, minlength=n),
            "tags": np.bincount(tag_rows, minlength=n),
        }
        entry_authors = list_column(counts_of["authors"], self.author_names.take(au_ids - 1))
        entry_categories = list_column(
            counts_of["categories"], pa.array(self.category_names).take(pa.array(cat_ids - 1))
        )
        entry_tags = list_column(counts_of["tags"], pa.array(self.tag_names).take(tag_ids - 1))
        entries = pa.table(
            {
                "feed_id": feed_id,
                "entry_key": urls,
                "guid": urls,
                "link": urls,
                "link_key": url_keys,
                "title": titles,
                "summary": description,
                "published_at": ts_array(published, no_date),
                "updated_at": ts_array(published, no_date),
                "authors": entry_authors,
                "categories": entry_categories,
                "tags": entry_tags,
                "image": articles["image"],
                "article_id": ids,
                "page_attempts": pa.array(np.where(from_feed, 1, 0).astype(np.int32)),
                "last_page_error": articles["fallback_reason"],
                "first_seen_at": ts_array(fetched - rng.integers(1_000_000, 120_000_000, n)),
                "run_id": run_id,
            }
        )
        elapsed = rng.integers(80, 4000, n)
        size = rng.integers(20_000, 400_000, n)
        day_names = np.datetime_as_string(fetched.astype("datetime64[us]"), unit="D")
        fetches = pa.table(
            {
                "fetch_id": ids,
                "run_id": run_id,
                "url": urls,
                "final_url": urls,
                "kind": pa.array(["page"] * n),
                "started_at": ts_array(fetched - elapsed * 1000),
                "status": pa.array(np.where(from_feed, 503, 200).astype(np.int32)),
                "error": articles["fallback_reason"],
                "bytes": np.where(from_feed, 0, size),
                "elapsed_ms": pa.array(elapsed.astype(np.int32)),
                "content_type": pa.array(["text/html; charset=utf-8"] * n),
                "warc_file": pa.array([f"warc/{d}.warc.gz" for d in day_names], mask=from_feed),
                "warc_offset": pa.array(ids * 50_000, mask=from_feed),
                "warc_length": pa.array(size // 4, mask=from_feed),
            }
        )
        dup = np.array(dup_rows, dtype=object).reshape(-1, 3)
        member = dup[:, 0].astype(np.int64)
        exact = dup[:, 2] == "content_hash"
        duplicates = pa.table(
            {
                "article_id": ids[member],
                "duplicate_of": ids[dup[:, 1].astype(np.int64)],
                "method": pa.array(dup[:, 2].tolist(), pa.string()),
                "similarity": np.where(exact, 1.0, rng.uniform(0.8, 0.97, len(dup))),
                "containment": np.where(exact, 1.0, rng.uniform(0.9, 1.0, len(dup))),
                "detected_at": ts_array(fetched[member]),
            }
        )
        tables: list[tuple[str, pa.Table]] = [
            ("articles", articles),
            ("article_urls", pa.table({"url_key": url_keys, "article_id": ids})),
            ("article_versions", versions),
            ("feed_entries", entries),
            ("fetches", fetches),
            (
                "article_authors",
                pa.table(
                    {
                        "article_id": ids[au_rows],
                        "author_id": au_ids,
                        "position": pa.array(au_pos.astype(np.int32)),
                    }
                ),
            ),
            ("article_categories", pa.table({"article_id": ids[cat_rows], "category_id": cat_ids})),
            ("article_tags", pa.table({"article_id": ids[tag_rows], "tag_id": tag_ids})),
            ("article_duplicates", duplicates),
        ]
        if self.signatures:
            tables += self.signature_tables(
                ids, dup[:, 0].astype(np.int64), dup[:, 1].astype(np.int64), exact
            )
        with wh.transaction():
            for name, table in tables:
                wh.load_table(name, table)

    def signature_tables(
        self, ids: np.ndarray, member: np.ndarray, head: np.ndarray, exact: np.ndarray
    ) -> list[tuple[str, pa.Table]]:
        """Random MinHash signatures (copies share their head's; edited copies 90% of it)."""
        rng = self.rng
        n = len(ids)
        sigs = rng.integers(0, 2**32, (n, neardup.NUM_PERM), dtype=np.uint64).astype(np.uint32)
        edited = sigs[member].copy()
        sigs[member] = sigs[head]
        mask = (rng.random(sigs[member].shape) < 0.1) & ~exact[:, None]
        sigs[member] = np.where(mask, edited, sigs[member])
        rows = sigs.astype(np.uint64).reshape(n, neardup.BANDS, neardup.ROWS)
        with np.errstate(over="ignore"):
            bands = (rows * neardup._BAND_MIX).sum(axis=2, dtype=np.uint64).view(np.int64)
        flat = sigs.reshape(-1).view(np.uint8)
        blob = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(neardup.NUM_PERM * 4), n, [None, pa.py_buffer(flat.tobytes())]
        ).cast(pa.binary())
        return [
            (
                "article_signatures",
                pa.table(
                    {
                        "article_id": ids,
                        "signature": blob,
                        "shingles": pa.array(rng.integers(40, 120, n).astype(np.int32)),
                        "version": pa.array([neardup.SIGNATURE_VERSION] * n),
                    }
                ),
            ),
            (
                "article_bands",
                pa.table(
                    {
                        "band": pa.array(np.tile(np.arange(neardup.BANDS, dtype=np.uint8), n)),
                        "band_hash": bands.reshape(-1),
                        "article_id": np.repeat(ids, neardup.BANDS),
                    }
                ),
            ),
        ]


def advance(wh: Warehouse, table: str, column: str) -> None:
    """Move id allocation past the ids loaded explicitly, as if they had been drawn from it."""
    top = int(wh.sql(f"SELECT coalesce(max({column}), 0) FROM {table}")[0][0])
    wh.advance_ids(column, top)


def generate(out: Path, total: int, chunk: int, corpus: Corpus, seed: int, sigs: bool) -> None:
    start = time.perf_counter()
    gen = Generator(corpus, total, seed, sigs)
    with Warehouse(out) as wh:
        gen.load_dimensions(wh)
        for lo in range(0, total, chunk):
            hi = min(total, lo + chunk)
            gen.chunk(wh, lo, hi)
            print(f"  {hi:>10,} articles  {time.perf_counter() - start:7.1f} s", flush=True)
        gen.load_runs(wh)
        wh.execute(
            "INSERT INTO content_hashes SELECT content_hash, min(article_id) FROM articles"
            " GROUP BY content_hash"
        )
        for table, column in (
            ("feeds", "feed_id"),
            ("fetches", "fetch_id"),
            ("articles", "article_id"),
            ("authors", "author_id"),
            ("categories", "category_id"),
            ("tags", "tag_id"),
            ("runs", "run_id"),
        ):
            advance(wh, table, column)
        wh.checkpoint()
        counts = {
            t: int(wh.sql(f"SELECT count(*) FROM {t}")[0][0])
            for t in (
                "articles",
                "article_versions",
                "feed_entries",
                "fetches",
                "article_urls",
                "article_authors",
                "article_categories",
                "article_tags",
                "article_duplicates",
                "article_signatures",
                "article_bands",
                "feeds",
                "runs",
                "authors",
                "tags",
            )
        }
    elapsed = time.perf_counter() - start
    print(f"generated {out} in {elapsed:.1f} s, {out.stat().st_size / 2**30:.2f} GiB")
    print("  " + ", ".join(f"{t} {c:,}" for t, c in counts.items()))


# -- query timings -------------------------------------------------------------------------------


def workload() -> list[tuple[str, str]]:
    """(name, SQL): each view counted and hashed whole, then each example query as written."""
    folder = REPO_ROOT / "warehouse"
    views = re.findall(r"CREATE OR REPLACE VIEW (\w+)", (folder / "views.sql").read_text("utf-8"))
    out = []
    for view in views:
        out.append((f"view {view} count", f"SELECT count(*) FROM {view}"))
        # Every column computed (count(*) lets the optimizer drop unused subqueries).
        out.append((f"view {view} all", f"SELECT count(*), sum(hash(v)) FROM {view} v"))
    for path in sorted((folder / "queries").glob("*.sql")):
        out.append((f"query {path.stem}", path.read_text("utf-8")))
    return out


def time_queries(path: Path, repeat: int, only: str | None) -> list[tuple[str, float, float, int]]:
    rows = []
    for name, sql in workload():
        if only and only not in name:
            continue
        with Warehouse(path) as wh:  # cold: the first run after opening the file
            t0 = time.perf_counter()
            result = wh.sql(sql)
            cold = time.perf_counter() - t0
            warm = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                wh.sql(sql)
                warm.append(time.perf_counter() - t0)
        rows.append((name, cold, statistics.median(warm), len(result)))
        flag = "  OVER 1 s" if max(cold, statistics.median(warm)) > 1 else ""
        print(
            f"  {name:<36} {cold * 1000:>9.0f} {statistics.median(warm) * 1000:>9.0f}"
            f" {len(result):>7}{flag}",
            flush=True,
        )
    return rows


# -- ingest cost ---------------------------------------------------------------------------------


def batch_articles(corpus: Corpus, rep: int, size: int) -> list[tuple[Entry, Article]]:
    """`size` new articles with real corpus text (signed as the extract worker signs them);
    URLs made new for each repetition."""
    out = []
    tag_pool = ["Politics", "Economy", "World", "Climate", "Elections", f"Rep {rep} topic"]
    keys: set[str] = set()
    for k, rec in enumerate(corpus.records):
        parts = urlsplit(rec["url"])
        url = urlunsplit(("https", parts.netloc, f"{parts.path.rstrip('/')}/r{rep}", "", ""))
        if len(out) == size:
            break
        if url_key(url) in keys:  # two corpus pages can share a path
            continue
        keys.add(url_key(url))
        text = " ".join(rec["body_text"].split())
        sig = neardup.signature(text)
        published = None
        if rec.get("publishing_date"):
            published = datetime.fromisoformat(rec["publishing_date"]).astimezone(UTC)
        authors = list(rec.get("authors") or [])
        tags = list(rec.get("topics") or []) + tag_pool[k % 3 : k % 3 + 3]
        entry = Entry(
            guid=url,
            link=url,
            title=rec.get("title"),
            summary=text[:200],
            published_at=published,
            authors=authors,
            tags=tags,
        )
        art = Article(
            url=url,
            canonical_url=url,
            url_key=url_key(url),
            title=rec.get("title"),
            text=text,
            language=None,
            published_at=published,
            site_name=rec.get("publisher"),
            description=text[:160],
            authors=authors,
            categories=[SECTIONS[k % len(SECTIONS)]],
            tags=tags,
            content_hash=content_hash(text),
            extractor_version=EXTRACTOR,
            provenance={"title": "jsonld", "text": "trafilatura"},
            signature=sig.values if sig else None,
            shingles=sig.shingles if sig else 0,
        )
        out.append((entry, art))
    return out


def ingest_once(wh: Warehouse, corpus: Corpus, rep: int, size: int) -> dict[str, float]:
    """Register a feed's `size` new entries, then store their pages; seconds of each step.
    Afterwards the batch's rows are deleted, so every repetition sees the same warehouse."""
    marks = {
        t: int(wh.sql(f"SELECT coalesce(max({c}), 0) FROM {t}")[0][0])
        for t, c in (
            ("articles", "article_id"),
            ("fetches", "fetch_id"),
            ("authors", "author_id"),
            ("categories", "category_id"),
            ("tags", "tag_id"),
            ("runs", "run_id"),
        )
    }
    now = datetime.now(UTC)
    pairs = batch_articles(corpus, rep, size)
    feed_url = f"https://bench.example/feed-{rep}.xml"
    (state,) = wh.feed_states([feed_url])
    run_id = wh.start_run()
    feed_fetch = Fetch(
        url=feed_url,
        kind="feed",
        started_at=now,
        final_url=feed_url,
        status=200,
        body=b"<rss/>",
        feed_id=state.feed_id,
        elapsed_ms=40,
    )
    parsed = ParsedFeed(
        title="Bench",
        site_url="https://bench.example/",
        entries=[e for e, _ in pairs],
        format="rss20",
        ttl_minutes=30,
    )
    times = {}
    t0 = time.perf_counter()
    wh.record_feed_results(run_id, [FeedResult(feed=state, fetch=feed_fetch, parsed=parsed)])
    times["record_feed_results"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pages = wh.pending_pages(feed_ids=[state.feed_id])
    times["pending_pages"] = time.perf_counter() - t0
    art_of = {a.url_key: a for _, a in pairs}
    results = [
        PageResult(
            page=p,
            fetch=Fetch(
                url=p.url,
                kind="page",
                started_at=now,
                final_url=p.url,
                status=200,
                body=b"x" * 50_000,
                headers={"content-type": "text/html"},
                elapsed_ms=300,
            ),
            article=art_of[p.link_key],
        )
        for p in pages
    ]
    assert len(results) == size, (len(results), size)
    t0 = time.perf_counter()
    counts = wh.record_page_results(run_id, results)
    times["record_page_results"] = time.perf_counter() - t0
    assert counts["articles_new"] == size, counts
    with wh.transaction():
        new = f"article_id > {marks['articles']}"
        for table in (
            "articles",
            "article_versions",
            "article_urls",
            "article_signatures",
            "article_bands",
            "article_duplicates",
            "article_authors",
            "article_categories",
            "article_tags",
            "content_hashes",
        ):
            wh.execute(f"DELETE FROM {table} WHERE {new}")
        wh.execute(f"DELETE FROM fetches WHERE fetch_id > {marks['fetches']}")
        wh.execute("DELETE FROM feed_entries WHERE feed_id = ?", [state.feed_id])
        wh.execute("DELETE FROM feeds WHERE feed_id = ?", [state.feed_id])
        for table, col in (
            ("authors", "author_id"),
            ("categories", "category_id"),
            ("tags", "tag_id"),
            ("runs", "run_id"),
        ):
            wh.execute(f"DELETE FROM {table} WHERE {col} > {marks[table]}")
    return times


def time_ingest(big: Path, corpus: Corpus, repeat: int, size: int) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="wh-scale-") as tmp,
        Warehouse(Path(tmp) / "empty.duckdb") as empty,
        Warehouse(big) as full,
    ):
        runs: dict[str, list[dict[str, float]]] = {"empty": [], "1M": []}
        for rep in range(repeat + 1):  # alternate, so a busy machine slows both alike
            for label, wh in (("empty", empty), ("1M", full)):
                times = ingest_once(wh, corpus, rep, size)
                if rep:  # the first repetition warms caches and is left out
                    runs[label].append(times)
    print(f"ingest of {size} new articles (median of {repeat}, ms):")
    print(f"  {'step':<22} {'empty':>9} {'big':>9} {'ratio':>7}")
    for step in ("record_feed_results", "pending_pages", "record_page_results"):
        e = statistics.median(t[step] for t in runs["empty"]) * 1000
        f = statistics.median(t[step] for t in runs["1M"]) * 1000
        print(f"  {step:<22} {e:>9.1f} {f:>9.1f} {f / e:>7.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=1_000_000, help="articles to generate")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("warehouse-1m.duckdb"),
        help="warehouse file to build (or reuse with --reuse)",
    )
    parser.add_argument("--reuse", action="store_true", help="use an existing --out as it is")
    parser.add_argument("--chunk", type=int, default=100_000, help="articles per Arrow chunk")
    parser.add_argument(
        "--no-signatures",
        action="store_true",
        help="skip article_signatures/article_bands (32 band rows per article)",
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus pages folder")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="warm runs per query (median)")
    parser.add_argument("--only", default=None, help="time only the queries whose name has this")
    parser.add_argument("--ingest-repeat", type=int, default=5, help="ingest runs (median)")
    parser.add_argument("--batch", type=int, default=100, help="articles per ingest batch")
    parser.add_argument("--skip-queries", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true")
    args = parser.parse_args(argv)
    if (reason := absent_reason(args.corpus)) is not None:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    corpus = Corpus(args.corpus)
    if args.reuse:
        if not args.out.exists():
            print(f"error: --reuse: no warehouse at {args.out}", file=sys.stderr)
            return 2
    else:
        if args.out.exists():
            print(f"error: {args.out} exists (pass --reuse to use it)", file=sys.stderr)
            return 2
        print(f"generating {args.articles:,} articles (texts 200-500 characters) into {args.out}")
        generate(args.out, args.articles, args.chunk, corpus, args.seed, not args.no_signatures)
        if not args.no_signatures:  # as a warehouse grown by runs has them
            started = time.perf_counter()
            with Warehouse(args.out) as wh:
                rows = wh.rebuild_band_index()
            print(f"band index files: {rows:,} band rows in {time.perf_counter() - started:.1f} s")
    if not args.skip_queries:
        print(
            f"query timings on {args.out} (ms; cold = first run after opening, warm = median"
            f" of {args.repeat})"
        )
        print(f"  {'query':<36} {'cold':>9} {'warm':>9} {'rows':>7}")
        time_queries(args.out, args.repeat, args.only)
    if not args.skip_ingest:
        time_ingest(args.out, corpus, args.ingest_repeat, min(args.batch, len(corpus.records) - 5))
    return 0


if __name__ == "__main__":
    sys.exit(main())
