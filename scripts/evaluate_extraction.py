"""Score news-ingest's extract_article against trafilatura alone on the labelled page corpus."""

from __future__ import annotations

import argparse
import gzip
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "pages"
sys.path.insert(0, str(REPO_ROOT))

import trafilatura  # noqa: E402
import trafilatura.settings  # noqa: E402

from pipeline.corpus import absent_reason, load_pages  # noqa: E402
from pipeline.extract import ExtractionError, extract_article  # noqa: E402
from pipeline.urls import registrable_host  # noqa: E402

_TOKEN = re.compile(r"\w+", re.UNICODE)
_SPACE = re.compile(r"\s+")
# Title comparison ignores what a reader cannot tell apart, for every extractor alike: curly vs
# straight quotes, and invisible characters (soft hyphen, zero-width space, word joiner, BOM).
# "title exact (strict)" reports the comparison without this folding.
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"'})
_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff]")


@dataclass
class Prediction:
    """The fields one extractor produced for one page, in comparable form."""

    title: str | None = None
    published_day_utc: date | None = None
    published_day_local: date | None = None  # in the ground truth's own UTC offset
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    text: str = ""
    provenance: dict[str, str] = field(default_factory=dict)


@dataclass
class Scores:
    """Running totals for one extractor."""

    title_hits: int = 0
    title_strict_hits: int = 0
    title_n: int = 0
    day_local_hits: int = 0
    day_utc_hits: int = 0
    day_zone_hits: int = 0  # whole-hour labels compared at day precision in any UTC offset
    day_n: int = 0
    author_f1: float = 0.0
    author_n: int = 0
    topic_tp: int = 0  # topics = tags (keywords), what the ground truth labels
    topic_pred: int = 0
    topic_gold: int = 0
    topic_n: int = 0
    union_tp: int = 0  # topics = categories + tags
    union_pred: int = 0
    body_f1: float = 0.0
    body_n: int = 0
    empty_text: int = 0
    seconds: float = 0.0
    pages: int = 0
    body_per_page: list[float] = field(default_factory=list)


def norm_ws(text: str | None) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text or "")).strip()


def norm_title(text: str | None) -> str:
    return norm_ws(_INVISIBLE.sub("", text or "")).translate(_QUOTES)


def f1(pred: Counter[str], gold: Counter[str]) -> float:
    if not pred and not gold:
        return 1.0
    overlap = sum((pred & gold).values())
    if not overlap:
        return 0.0
    precision = overlap / sum(pred.values())
    recall = overlap / sum(gold.values())
    return 2 * precision * recall / (precision + recall)


def tokens(text: str) -> Counter[str]:
    return Counter(t.casefold() for t in _TOKEN.findall(text))


def gold_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    # A naive ground-truth date is read as UTC, as the extractor does.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def day_precision(gold: datetime) -> set[date]:
    """The days a label may mean. A whole-hour label is often a local midnight turned into UTC
    (the corpus's README: compare those at day precision), so any day it falls on between
    UTC-12 and UTC+14 counts; other labels mean their own day."""
    if gold.minute or gold.second or gold.microsecond:
        return {gold.date()}
    return {(gold - timedelta(hours=12)).date(), gold.date(), (gold + timedelta(hours=14)).date()}


def ours(html: bytes, record: dict, gold_dt: datetime | None) -> Prediction:
    try:
        article = extract_article(html, record["url"])
    except ExtractionError:
        return Prediction()
    pred = Prediction(
        title=article.title,
        authors=article.authors,
        categories=article.categories,
        tags=article.tags,
        text=article.text,
        provenance=article.provenance,
    )
    if article.published_at is not None:
        pred.published_day_utc = article.published_at.astimezone(UTC).date()
        offset_tz = gold_dt.tzinfo if gold_dt is not None else UTC
        pred.published_day_local = article.published_at.astimezone(offset_tz).date()
    return pred


def trafilatura_alone(html: bytes, record: dict, gold_dt: datetime | None) -> Prediction:
    doc = trafilatura.bare_extraction(html, url=record["url"], with_metadata=True)
    if not isinstance(doc, trafilatura.settings.Document):
        return Prediction()
    day = None
    if doc.date:
        try:
            day = date.fromisoformat(doc.date[:10])
        except ValueError:
            day = None
    # Split trafilatura's comma-joined tag strings so the baseline is not penalised for format.
    def split(values: list[str] | None) -> list[str]:
        return [t.strip() for v in values or [] for t in v.split(",") if t.strip()]

    return Prediction(
        title=doc.title,
        # trafilatura gives a bare day with no zone: it counts as both the local and the UTC day.
        published_day_utc=day,
        published_day_local=day,
        authors=[a.strip() for a in (doc.author or "").split(";") if a.strip()],
        categories=split(doc.categories),
        tags=split(doc.tags),
        text=doc.text or "",
    )


def score(scores: Scores, pred: Prediction, record: dict, gold_dt: datetime | None) -> None:
    if record.get("title"):
        scores.title_n += 1
        scores.title_hits += norm_title(pred.title) == norm_title(record["title"])
        scores.title_strict_hits += norm_ws(pred.title) == norm_ws(record["title"])
    if gold_dt is not None:
        scores.day_n += 1
        scores.day_local_hits += pred.published_day_local == gold_dt.date()
        scores.day_utc_hits += pred.published_day_utc == gold_dt.astimezone(UTC).date()
        scores.day_zone_hits += pred.published_day_local in day_precision(gold_dt)
    if record.get("authors"):
        scores.author_n += 1
        scores.author_f1 += f1(
            Counter({a.casefold() for a in pred.authors}),
            Counter({norm_ws(a).casefold() for a in record["authors"]}),
        )
    if record.get("topics") is not None:
        gold = {norm_ws(t).casefold() for t in record["topics"]}
        got = {norm_ws(t).casefold() for t in pred.tags}
        union = got | {norm_ws(t).casefold() for t in pred.categories}
        scores.topic_n += 1
        scores.topic_tp += len(gold & got)
        scores.topic_pred += len(got)
        scores.topic_gold += len(gold)
        scores.union_tp += len(gold & union)
        scores.union_pred += len(union)
    if record.get("body_text"):
        scores.body_n += 1
        page_f1 = f1(tokens(pred.text), tokens(record["body_text"]))
        scores.body_f1 += page_f1
        scores.body_per_page.append(page_f1)
    scores.empty_text += not pred.text.strip()


def ratio(num: float, den: int | float) -> float:
    return num / den if den else float("nan")


def table(results: dict[str, Scores]) -> str:
    rows: list[tuple[str, Callable[[Scores], str]]] = [
        ("title exact", lambda s: f"{ratio(s.title_hits, s.title_n):.3f} (n={s.title_n})"),
        ("title exact (strict)",
         lambda s: f"{ratio(s.title_strict_hits, s.title_n):.3f} (n={s.title_n})"),
        ("published day (gold offset)",
         lambda s: f"{ratio(s.day_local_hits, s.day_n):.3f} (n={s.day_n})"),
        ("published day (whole hour = local day)",
         lambda s: f"{ratio(s.day_zone_hits, s.day_n):.3f} (n={s.day_n})"),
        ("published day (UTC)", lambda s: f"{ratio(s.day_utc_hits, s.day_n):.3f} (n={s.day_n})"),
        ("authors F1", lambda s: f"{ratio(s.author_f1, s.author_n):.3f} (n={s.author_n})"),
        ("topics=tags precision",
         lambda s: f"{ratio(s.topic_tp, s.topic_pred):.3f} (n={s.topic_n})"),
        ("topics=tags recall", lambda s: f"{ratio(s.topic_tp, s.topic_gold):.3f} (n={s.topic_n})"),
        ("topics=cats+tags precision",
         lambda s: f"{ratio(s.union_tp, s.union_pred):.3f} (n={s.topic_n})"),
        ("topics=cats+tags recall",
         lambda s: f"{ratio(s.union_tp, s.topic_gold):.3f} (n={s.topic_n})"),
        ("body token F1", lambda s: f"{ratio(s.body_f1, s.body_n):.3f} (n={s.body_n})"),
        ("pages with empty text", lambda s: f"{s.empty_text}"),
        ("pages/s", lambda s: f"{ratio(s.pages, s.seconds):.1f}"),
    ]
    names = list(results)
    width = max(len(r[0]) for r in rows) + 2
    lines = ["field".ljust(width) + "".join(n.ljust(22) for n in names)]
    lines.append("-" * (width + 22 * len(names)))
    for label, fmt in rows:
        lines.append(label.ljust(width) + "".join(fmt(results[n]).ljust(22) for n in names))
    return "\n".join(lines)


def add(total: Scores, part: Scores) -> None:
    """Add one publisher's running totals into another's."""
    for name, value in vars(part).items():
        if isinstance(value, list):
            getattr(total, name).extend(value)
        else:
            setattr(total, name, getattr(total, name) + value)


# Summary fields: (label, numerator, denominator) over Scores.
SUMMARY: list[tuple[str, Callable[[Scores], float], Callable[[Scores], float]]] = [
    ("title", lambda s: s.title_hits, lambda s: s.title_n),
    ("date", lambda s: s.day_local_hits, lambda s: s.day_n),
    ("date (local day)", lambda s: s.day_zone_hits, lambda s: s.day_n),
    ("authors F1", lambda s: s.author_f1, lambda s: s.author_n),
    ("topics P", lambda s: s.topic_tp, lambda s: s.topic_pred),
    ("topics R", lambda s: s.topic_tp, lambda s: s.topic_gold),
    ("body F1", lambda s: s.body_f1, lambda s: s.body_n),
]
TARGETS = {"title": 0.88, "date": 0.97, "date (local day)": 0.97, "authors F1": 0.90,
           "topics P": 0.75, "topics R": 0.75}


def lopo(per_publisher: dict[str, Scores], num: Callable[[Scores], float],
         den: Callable[[Scores], float]) -> float:
    """Leave-one-publisher-out: each publisher is a fold scored on its own pages, and the
    folds' scores are averaged (a fold without labels for the field is left out). Nothing is
    fitted on labels, so a fold's extractor is the same for every fold; the rule words naming
    a held-out publisher are listed by `publisher_keyed_rules`."""
    folds = [num(s) / den(s) for s in per_publisher.values() if den(s)]
    return sum(folds) / len(folds) if folds else float("nan")


def publisher_keyed_rules(records: list[dict]) -> list[str]:
    """Words of the rule data (pipeline/extract/rules.py) that name a publisher of the corpus:
    a rule keyed to a publisher would flatter that publisher's fold."""
    from pipeline.extract import rules

    words: set[str] = set()
    for value in vars(rules).values():
        items = value if isinstance(value, (tuple, frozenset, set)) else ()
        if isinstance(value, dict):
            items = tuple(value)
        words.update(w.casefold() for w in items if isinstance(w, str) and len(w) > 3)
    keys: dict[str, str] = {}
    for record in records:
        publisher = str(record.get("publisher") or "")
        host = registrable_host(f"https://{publisher}/").split(".")[0] if "." in publisher \
            else publisher
        keys[host.casefold()] = publisher
    return sorted(f"{w} ({keys[w]})" for w in words if w in keys)


def evaluate(corpus: Path, args: argparse.Namespace) -> dict[str, dict[str, Scores]] | None:
    """Per-extractor, per-publisher scores on one corpus (None when it is absent)."""
    if (reason := absent_reason(corpus)) is not None:
        print(f"corpus not found: {reason} (pass --corpus PATH)", file=sys.stderr)
        return None
    records = [page.record for page in load_pages(corpus)]
    if args.match:
        records = [r for r in records if args.match in r["html"]]
    if args.limit:
        records = records[: args.limit]

    extractors = {"news-ingest": ours, "trafilatura": trafilatura_alone}
    per: dict[str, dict[str, Scores]] = {name: {} for name in extractors}
    body_diffs: list[tuple[float, str]] = []
    for record in records:
        path = corpus / record["html"]
        if not path.is_file():
            print(f"skipping missing page {path.name}", file=sys.stderr)
            continue
        html = gzip.decompress(path.read_bytes())
        gold_dt = gold_datetime(record.get("publishing_date"))
        publisher = str(record.get("publisher") or record["html"])
        preds: dict[str, Prediction] = {}
        for name, extractor in extractors.items():
            scores = per[name].setdefault(publisher, Scores())
            start = time.perf_counter()
            preds[name] = extractor(html, record, gold_dt)
            scores.seconds += time.perf_counter() - start
            scores.pages += 1
            score(scores, preds[name], record, gold_dt)
        if record.get("body_text"):
            ours_f1 = per["news-ingest"][publisher].body_per_page[-1]
            base_f1 = per["trafilatura"][publisher].body_per_page[-1]
            body_diffs.append((ours_f1 - base_f1, record["html"]))
        if args.verbose:
            report_misses(record, preds["news-ingest"], gold_dt)

    results = {name: Scores() for name in extractors}
    for name, by_publisher in per.items():
        for scores in by_publisher.values():
            add(results[name], scores)
    print(f"corpus: {corpus} ({len(records)} pages, {len(per['news-ingest'])} publishers)")
    print(table(results))
    worse = [(d, n) for d, n in body_diffs if d < -0.01]
    print(f"\npages where our body F1 is below trafilatura's by >0.01: {len(worse)}")
    for diff, name in sorted(worse)[:10]:
        print(f"  {diff:+.3f} {name}")
    keyed = publisher_keyed_rules(records)
    print(f"rule words naming a publisher of this corpus: {', '.join(keyed) or 'none'}\n")
    return per


def summary(label: str, per: dict[str, dict[str, Scores]]) -> list[str]:
    """Rows of the closing table: all pages and LOPO, ours and trafilatura's."""
    rows = []
    for name, by_publisher in per.items():
        total = Scores()
        for scores in by_publisher.values():
            add(total, scores)
        for how in ("all", "LOPO"):
            cells = []
            for _field, num, den in SUMMARY:
                value = (ratio(num(total), den(total)) if how == "all"
                         else lopo(by_publisher, num, den))
                cells.append("–" if value != value else f"{value:.3f}")
            rows.append(f"| {label} | {name} | {how} | " + " | ".join(cells) + " |")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, action="append",
                        help="pages directory (repeatable; default: pages and pages-extra)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N pages")
    parser.add_argument("--match", default="", help="only pages whose file name contains this")
    parser.add_argument("--verbose", action="store_true", help="print each page's misses")
    args = parser.parse_args(argv)

    corpora = args.corpus or [DEFAULT_CORPUS, DEFAULT_CORPUS.with_name("pages-extra")]
    print("published day compares calendar days in the ground truth's own UTC offset (the day")
    print("the publisher printed; naive = UTC). topics: the ground truth labels publisher")
    print("tags/keywords, scored as our tags alone. title exact folds curly/straight quotes")
    print("and drops invisible characters; (strict) does not. LOPO: leave-one-publisher-out,")
    print("the mean of the publishers' folds.\n")
    rows: list[str] = []
    for corpus in corpora:
        per = evaluate(corpus, args)
        if per is None:
            return 2
        rows.extend(summary(corpus.name, per))
    print("| set | extractor | scored | " + " | ".join(f for f, _, _ in SUMMARY) + " |")
    print("|---|---|---|" + "---|" * len(SUMMARY))
    print("| targets | | | " + " | ".join(
        f"≥ {TARGETS[f]:.2f}" if f in TARGETS else "≥ trafilatura" for f, _, _ in SUMMARY
    ) + " |")
    print("\n".join(rows))
    return 0


def report_misses(record: dict, pred: Prediction, gold_dt: datetime | None) -> None:
    name = record["html"]
    if record.get("title") and norm_title(pred.title) != norm_title(record["title"]):
        print(f"{name} TITLE [{pred.provenance.get('title')}] got={pred.title!r} "
              f"want={record['title']!r}")
    if gold_dt is not None and pred.published_day_local != gold_dt.date():
        print(f"{name} DATE got={pred.published_day_local} want={gold_dt.isoformat()}")
    if record.get("authors"):
        got = {a.casefold() for a in pred.authors}
        want = {a.casefold() for a in record["authors"]}
        if got != want:
            print(f"{name} AUTHORS [{pred.provenance.get('authors')}] got={pred.authors} "
                  f"want={record['authors']}")
    if record.get("topics") is not None:
        got = {norm_ws(t).casefold() for t in pred.tags}
        want = {norm_ws(t).casefold() for t in record["topics"]}
        if got != want:
            print(f"{name} TOPICS [{pred.provenance.get('tags')}] extra={sorted(got - want)} "
                  f"missing={sorted(want - got)}")


if __name__ == "__main__":
    sys.exit(main())
