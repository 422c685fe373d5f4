"""Canonical URLs and the exact-dedup URL key."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only track a click: they never change which article a URL names.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "ref",
        "ref_src",
        "cmpid",
        "ncid",
        "ocid",
        "sr_share",
        "spm",
        "cmp",
        "xtor",
        "at_medium",
        "at_campaign",
        "rss",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "at_", "__twitter", "_ga")
DEFAULT_PORTS = {"http": 80, "https": 443}
# Folded for the dedup key only: they never name another article.
HOST_PREFIXES = ("www.", "m.", "amp.", "mobile.")
AMP_PATH_SUFFIXES = ("/amp/", "/amp", ".amp", "/amp.html")
AMP_QUERY_MARKERS = frozenset({"amp=1", "amp=true", "amp", "output=amp", "outputtype=amp"})
AMP_CACHE_PATH = re.compile(r"^/[cvi]/(s/)?(.+)$")
GOOGLE_AMP_HOSTS = frozenset({"www.google.com", "google.com"})


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonicalize(url: str) -> str:
    """Return the URL with tracking parameters, fragment and default port dropped,
    the host lower-cased and the query sorted. Scheme and path are kept as given."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    query_pairs = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not is_tracking_param(k)
    ]
    query = urlencode(sorted(query_pairs), doseq=True)
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, query, ""))


def unwrap_amp_cache(url: str) -> str:
    """The publisher's URL behind an AMP-cache link (`*.cdn.ampproject.org/c/s/…`,
    `google.com/amp/s/…`), or the URL itself."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path
    if host.endswith(".cdn.ampproject.org") or host.endswith(".ampproject.net"):
        match = AMP_CACHE_PATH.match(path)
        if match:
            secure, rest = match.group(1), match.group(2)
            query = f"?{parts.query}" if parts.query else ""
            return f"{'https' if secure else 'http'}://{rest}{query}"
    if host in GOOGLE_AMP_HOSTS and path.startswith("/amp/"):
        rest = path[len("/amp/") :]
        secure = rest.startswith("s/")
        rest = rest[2:] if secure else rest
        query = f"?{parts.query}" if parts.query else ""
        return f"{'https' if secure else 'http'}://{rest}{query}"
    return url


@lru_cache(maxsize=16384)  # a write step keys each page's URLs twice or more; a pure function
def url_key(url: str) -> str:
    """The exact-dedup key: the canonical URL with what never names another article folded away:
    the scheme, `www.`/`m.`/`amp.` host prefixes, AMP markers, trailing slashes. Only for keys:
    an article keeps its real URL."""
    canonical = canonicalize(unwrap_amp_cache(url.strip()))
    parts = urlsplit(canonical)
    host = parts.netloc
    for prefix in HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") > 1:
            host = host[len(prefix) :]
            break
    path = parts.path
    for marker in AMP_PATH_SUFFIXES:
        if path.endswith(marker):
            path = path[: -len(marker)]
            break
    if path.startswith("/amp/"):
        path = path[len("/amp") :]
    path = path.rstrip("/") or "/"
    query = "&".join(
        pair for pair in parts.query.split("&") if pair and pair not in AMP_QUERY_MARKERS
    )
    return urlunsplit(("", host, path, query, "")).removeprefix("//")


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def registrable_host(url: str) -> str:
    """The host without a leading `www.`/`m.`/`amp.`: good enough to tell one site from another."""
    host = host_of(url)
    for prefix in ("www.", "m.", "amp."):
        if host.startswith(prefix):
            return host[len(prefix) :]
    return host


def same_site(a: str, b: str) -> bool:
    return bool(registrable_host(a)) and registrable_host(a) == registrable_host(b)
