"""news-ingest's errors: one base class, and the kind of each failure decided where it happens.

    NewsIngestError                   every error news-ingest raises on purpose
    ├── FetchError                    a request failed before or while its response came
    │   ├── BlockedDestination        a private, loopback, link-local or reserved address (refused)
    │   ├── ResolveError              a host name did not resolve (temporary; an OSError too)
    │   └── FetchAborted              a response broke a limit and was dropped
    │       ├── ResponseTooLarge      over the byte cap, declared or inflated (refused)
    │       ├── DeadlineExceeded      the whole response took too long (temporary)
    │       ├── TooManyRedirects      a loop or a long chain (soft)
    │       └── UnfetchableURL        no host, or a scheme other than http(s) (refused)
    ├── FeedError                     the bytes are not a feed (hard) or unreadable as one (soft)
    ├── ExtractionError               a page yields no article (hard)
    ├── DocumentError                 an input document refused or unusable (a ValueError too)
    │   ├── OpmlError                 not a usable OPML document
    │   └── UnsafeXML                 declares XML entities: refused unparsed
    └── WarehouseError                the warehouse cannot be used
        ├── WarehouseBusy             another process holds the warehouse file (temporary)
        ├── ExtensionMissingError     a DuckDB extension's wheel is not installed
        ├── NewerWarehouseFormatError the file was written by a newer DuckDB
        ├── LakeConfigError           a lake URL, data path or catalog unusable (a ValueError)
        ├── LakeMigrationError        a migration with no lake form (a ValueError)
        └── SearchIndexMissing        no full-text index built yet

The command line's CommandError, the Prefect API's ApiError and `serve`'s ServeError (in flows/)
derive from NewsIngestError too.

Every error carries a `FailureKind`, and the `Fetch` record of a failed request carries the kind
of its failure (`Fetch.failure_kind`): polling backoff and page retries read that kind, never the
message, so an error's wording can change freely."""

from __future__ import annotations

from enum import StrEnum


class FailureKind(StrEnum):
    """What a failure says about trying again."""

    TEMPORARY = "temporary"  # timeouts, connection and DNS errors, the deadline, 408/429/502-504
    SOFT = "soft"  # other 5xx, parse trouble, redirect loops: the source is there but broken
    HARD = "hard"  # other 4xx, not a feed, no article: the thing is not there
    REFUSED = "refused"  # we would not: private destination, robots.txt, oversized, not http(s)


# HTTP statuses that say "later" rather than "no".
TEMPORARY_STATUSES = frozenset({408, 425, 429, 502, 503, 504})


def kind_for_status(status: int) -> FailureKind:
    """The kind of an HTTP status that is a failure (4xx, 5xx; a redirect without Location)."""
    if status in TEMPORARY_STATUSES:
        return FailureKind.TEMPORARY
    if 400 <= status < 500:
        return FailureKind.HARD
    return FailureKind.SOFT


class NewsIngestError(Exception):
    """Base of news-ingest's errors. `kind` says what the failure means for trying again; each
    class has its usual kind, and a raise site may give another."""

    kind: FailureKind = FailureKind.HARD

    def __init__(self, message: str = "", *, kind: FailureKind | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


# --- fetching ---------------------------------------------------------------------------------


class FetchError(NewsIngestError):
    """A request failed before or while its response came; `url` is the one asked for."""

    kind = FailureKind.TEMPORARY

    def __init__(
        self, message: str = "", *, url: str | None = None, kind: FailureKind | None = None
    ) -> None:
        super().__init__(message, kind=kind)
        self.url = url


class BlockedDestination(FetchError):
    """The destination resolves to a private, loopback, link-local or reserved address."""

    kind = FailureKind.REFUSED


class ResolveError(FetchError, OSError):
    """A host name could not be resolved: unknown, or the lookup timed out. An OSError too, as
    the socket errors it stands for are."""

    kind = FailureKind.TEMPORARY


class FetchAborted(FetchError):
    """A response broke a limit (size, deadline, redirects, URL) and was dropped."""

    kind = FailureKind.SOFT


class ResponseTooLarge(FetchAborted):
    """The body is, or inflates to, more than the byte cap."""

    kind = FailureKind.REFUSED


class DeadlineExceeded(FetchAborted):
    """The response as a whole took longer than the deadline."""

    kind = FailureKind.TEMPORARY


class TooManyRedirects(FetchAborted):
    """More redirect hops than allowed: a loop or a long chain."""

    kind = FailureKind.SOFT


class UnfetchableURL(FetchAborted):
    """A URL (given, or a redirect's Location) with no host or a scheme other than http(s)."""

    kind = FailureKind.REFUSED


# --- content ----------------------------------------------------------------------------------


class FeedError(NewsIngestError):
    """The bytes are not a feed at all (hard), or could not be read as one (soft); message is
    one line."""

    kind = FailureKind.HARD


class ExtractionError(NewsIngestError):
    """Raised by `extract_article` only when the page yields no text, no title+description and
    there is no feed entry to fall back to."""

    kind = FailureKind.HARD


class DocumentError(NewsIngestError, ValueError):
    """An input document (OPML, sitemap XML) is refused or unusable; a ValueError too, as
    callers have always caught it."""

    kind = FailureKind.HARD


class OpmlError(DocumentError):
    """The bytes are not a usable OPML document; message is one line."""


class UnsafeXML(DocumentError):
    """The document declares entities (billion laughs, external entities): refused unparsed."""

    kind = FailureKind.REFUSED


# --- the warehouse ----------------------------------------------------------------------------


class WarehouseError(NewsIngestError):
    """The warehouse cannot be used; the message says why and what to do."""


class WarehouseBusy(WarehouseError):
    """Another process holds the warehouse file."""

    kind = FailureKind.TEMPORARY


class ExtensionMissingError(WarehouseError):
    """A DuckDB extension news-ingest needs is not installed (its wheel names the fix)."""


class NewerWarehouseFormatError(WarehouseError):
    """A DuckDB file written by a newer DuckDB than the one installed."""


class LakeConfigError(WarehouseError, ValueError):
    """A lake URL, data path or catalog that cannot be used; the message names the fix."""


class LakeMigrationError(WarehouseError, ValueError):
    """A migration statement that has no DuckLake form (ON CONFLICT, RETURNING, ...)."""


class SearchIndexMissing(WarehouseError):
    """No full-text index beside the warehouse yet (`news-ingest search --rebuild` makes one)."""
