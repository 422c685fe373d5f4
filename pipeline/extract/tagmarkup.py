"""Tags from a publisher's visible tag box: the links inside the first element whose class names
a list of tags ("article-tags", "tagList", "p-related-tags"), for pages that declare no keywords
and mark no rel=tag links. Navigation (tag clouds, menus, "popular" lists) is left out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lxml import etree

from pipeline.extract.rules import (
    MAX_TAG_LIST_LINKS,
    MAX_TAG_TEXT,
    TAG_LIST_CONTAINERS,
    TAG_LIST_NAVIGATION,
    TAG_LIST_SINGULAR,
    TAG_LIST_WORDS,
)
from pipeline.metadata import Candidates
from pipeline.names import clean_text, dedupe

# Elements with a class; `classed_with` keeps those whose class mentions a stem at all (one
# regex in Python beats XPath's translate() per element and stem), `names_tag_list` then reads
# the words.
_CLASSED_XPATH = etree.XPath("//*[@class]")
_TAG_STEMS = re.compile("tag|keyword|schlagw|stichw", re.IGNORECASE)
_CAMEL = re.compile(r"(?<=[a-zà-ÿ])(?=[A-Z])")
_WORD_SPLIT = re.compile(r"[^a-zà-ÿ]+")
_NAVIGATION_TAGS = frozenset({"nav", "header", "footer", "aside", "menu"})


def classed_with(tree: Any, stems: re.Pattern[str]) -> Iterator[Any]:
    """The elements of `tree`, in document order, whose class attribute matches `stems`."""
    for el in _CLASSED_XPATH(tree):
        if stems.search(el.get("class") or ""):
            yield el


def class_words(class_name: str) -> list[str]:
    """The words of one class name: "articleTags" -> ["article", "tags"], "tags__tag-list_x1"
    -> ["tags", "tag", "list", "x"]."""
    return [w for w in _WORD_SPLIT.split(_CAMEL.sub(" ", class_name).casefold()) if w]


def names_tag_list(class_attr: str) -> bool:
    """Whether an element's class attribute names a list of tags and no navigation."""
    found = False
    for class_name in class_attr.split():
        words = class_words(class_name)
        if TAG_LIST_NAVIGATION.intersection(words):
            return False
        if TAG_LIST_WORDS.intersection(words):
            found = True
        for word, after in zip(words, words[1:], strict=False):
            if word in TAG_LIST_SINGULAR and after in TAG_LIST_CONTAINERS:
                found = True
    return found


def tag_list_candidates(tree: Any) -> Candidates:
    """The tags of the page's first tag box (see the module's docstring); none when there is
    none or it holds more than MAX_TAG_LIST_LINKS links."""
    for el in classed_with(tree, _TAG_STEMS):
        if el.tag in _NAVIGATION_TAGS or not names_tag_list(el.get("class") or ""):
            continue
        links = list(el.iter("a"))
        if not links or len(links) > MAX_TAG_LIST_LINKS:
            continue
        tags = []
        for link in links:
            text = clean_text(link.text_content())
            if text and len(text) <= MAX_TAG_TEXT:
                tags.append(text)
        if tags:
            return Candidates(tags=dedupe(tags))
    return Candidates()
