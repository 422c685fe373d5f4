"""Canonical URLs, the dedup key and the same-site test."""

from __future__ import annotations

import pytest

from pipeline.urls import canonicalize, is_tracking_param, registrable_host, same_site, url_key


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a?utm_source=rss&utm_medium=feed", "https://example.com/a"),
        ("https://example.com/a?id=3&fbclid=abc", "https://example.com/a?id=3"),
        ("https://example.com/a?gclid=x&UTM_Campaign=y&b=2", "https://example.com/a?b=2"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com:80/a", "https://example.com:80/a"),
        ("HTTPS://WWW.Example.COM/a", "https://www.example.com/a"),
        ("https://example.com./a", "https://example.com/a"),
        ("https://example.com/a?z=1&a=2&m=3", "https://example.com/a?a=2&m=3&z=1"),
        ("https://example.com/News/Story-One", "https://example.com/News/Story-One"),
        ("https://example.com", "https://example.com/"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("https://example.com/a?q=&x=1", "https://example.com/a?q=&x=1"),
    ],
)
def test_canonicalize(url: str, expected: str) -> None:
    assert canonicalize(url) == expected


def test_canonicalize_is_idempotent() -> None:
    for url in (
        "https://Example.com:443/Path/To?b=2&a=1&utm_source=x#frag",
        "http://example.com:8080/",
        "https://example.com/search?q=a+b&lang=en",
    ):
        once = canonicalize(url)
        assert canonicalize(once) == once


def test_canonicalize_keeps_ipv6_hosts_valid() -> None:
    assert canonicalize("http://[::1]:8080/a?utm_source=x") == "http://[::1]:8080/a"
    assert canonicalize("https://[2001:DB8::1]/a") == "https://[2001:db8::1]/a"


def test_tracking_params() -> None:
    for name in ("utm_source", "UTM_MEDIUM", "fbclid", "gclid", "mc_cid", "pk_campaign"):
        assert is_tracking_param(name), name
    for name in ("id", "page", "q", "utm"):
        assert not is_tracking_param(name), name


def test_url_key_equal_for_tracking_variants() -> None:
    base = url_key("https://news.example/2024/story?id=7")
    variants = [
        "https://news.example/2024/story?id=7&utm_source=twitter",
        "https://NEWS.example:443/2024/story?utm_campaign=x&id=7&fbclid=123",
        "https://news.example/2024/story?gclid=abc&id=7#top",
    ]
    assert all(url_key(v) == base for v in variants)
    assert url_key("https://news.example/2024/Story?id=7") != base  # path case matters
    assert url_key("https://news.example/2024/story?id=8") != base
    assert url_key("http://news.example/2024/story?id=7") == base  # scheme folded for the key
    assert canonicalize("http://news.example/2024/story?id=7").startswith("http://")


@pytest.mark.parametrize(
    "variant",
    [
        "https://www.news.example/a/story/",
        "http://m.news.example/a/story",
        "https://amp.news.example/a/story",
        "https://news.example/a/story/amp/",
        "https://news.example/a/story?amp=1",
        "https://news.example/a/story?output=amp",
        "https://news-example.cdn.ampproject.org/c/s/news.example/a/story",
        "https://www.google.com/amp/s/www.news.example/a/story",
        "https://news.example/amp/a/story",
    ],
)
def test_url_key_folds_scheme_prefixes_amp_and_trailing_slash(variant: str) -> None:
    assert url_key(variant) == url_key("https://news.example/a/story")


def test_url_key_keeps_what_names_another_article() -> None:
    assert url_key("https://news.example/a/story?page=2") != url_key("https://news.example/a/story")
    assert url_key("https://news.example/a/story-2") != url_key("https://news.example/a/story")
    assert url_key("https://other.example/a/story") != url_key("https://news.example/a/story")


def test_same_site() -> None:
    assert registrable_host("https://www.example.com/a") == "example.com"
    assert registrable_host("https://m.example.com/a") == "example.com"
    assert same_site("https://www.example.com/a", "https://example.com/b")
    assert same_site("https://m.example.com/a", "https://www.example.com/b")
    assert same_site("https://amp.example.com/a", "http://EXAMPLE.com/b")
    assert not same_site("https://example.com/a", "https://example.org/a")
    assert not same_site("https://news.example.com/a", "https://example.com/a")
    assert not same_site("not a url", "also not")
