"""Canonical URLs and the exact-dedup URL key."""

from __future__ import annotations

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


def url_key(url: str) -> str:
    """The exact-dedup key: the canonical URL. One article per key."""
    return canonicalize(url)


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
