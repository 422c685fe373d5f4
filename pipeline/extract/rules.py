"""The extraction rules as data: which source wins each field, and the word lists, separators
and limits the field readers apply (in the spirit of trafilatura's xpaths.py). Patterns are
compiled here from the lists, so a rule is changed in one place."""

from __future__ import annotations

import re

# --------------------------------------------------------------------------- precedence

# Which source wins each field: the first one in the tuple that offers a valid value (a title
# then loses its decorations and may yield to another source's: see `titles.clean_title`).
# JSON-LD is written for search engines and is the most carefully kept; OpenGraph is written for
# social cards (titles there are sometimes shortened or teased); the feed entry describes the same
# article but is often truncated; trafilatura's own metadata is a heuristic last resort.
# Visible markup (microdata, byline elements, the <h1>) comes after the declared metadata; the
# URL's date and language detection on the text are last resorts.
PRECEDENCE: dict[str, tuple[str, ...]] = {
    "title": (
        "jsonld", "opengraph", "microdata", "feed", "meta", "h1", "title-tag", "trafilatura",
    ),
    "authors": ("jsonld", "meta", "opengraph", "microdata", "feed", "byline", "trafilatura"),
    "published_at": (
        "jsonld", "opengraph", "microdata", "meta", "feed", "time", "dateline", "trafilatura",
        "url",
    ),
    "modified_at": ("jsonld", "opengraph", "microdata", "meta", "feed"),
    "site_name": ("opengraph", "jsonld", "meta", "trafilatura"),
    "language": ("meta", "jsonld", "opengraph", "microdata", "trafilatura", "detected"),
    "description": ("opengraph", "jsonld", "meta", "feed", "trafilatura"),
    "image": ("opengraph", "jsonld", "meta", "feed", "trafilatura"),
    "categories": (
        "jsonld", "opengraph", "microdata", "meta", "rel-tag", "feed", "trafilatura",
    ),
    "tags": (
        "jsonld", "opengraph", "microdata", "meta", "rel-tag", "feed", "tag-list", "trafilatura",
    ),
}
# Trust in each source's publication date before agreement is counted; each reference (the
# feed's date, the URL's date, the page's dateModified) agreeing within DATE_AGREEMENT_DAYS adds
# DATE_AGREEMENT_BONUS. A date from a source in WEAK_DATE_SOURCES (the page's first <time
# datetime> element, trafilatura's guess, the URL)
# that a reference contradicts is not taken; a declared date that every reference contradicts
# yields to a later source's date that one of them confirms.
DATE_SOURCE_TRUST = {"jsonld": 0.8, "opengraph": 0.75, "microdata": 0.7, "meta": 0.7,
                     "feed": 0.7, "time": 0.6, "dateline": 0.5, "trafilatura": 0.5,
                     "url": 0.5}
DATE_AGREEMENT_BONUS = 0.1
DATE_AGREEMENT_DAYS = 1
WEAK_DATE_SOURCES = frozenset({"time", "dateline", "trafilatura", "url"})
# Article field -> attribute of metadata.Candidates holding it.
CANDIDATE_ATTR = {"published_at": "published", "modified_at": "modified"}
# Sources whose titles the publisher declares as metadata (trafilatura's title is read from them;
# the <h1> is the headline as displayed).
DECLARED_TITLE_SOURCES = frozenset({"jsonld", "opengraph", "microdata", "feed", "meta"})

# --------------------------------------------------------------------------- titles

# Separators between a headline and the site name in <title>-like strings, tried in this order.
TITLE_SEPARATORS = (
    " | ", " - ", " – ", " — ", " :: ", " · ", " • ", " / ", ": ", " * ", " » ", " ｜ ", "｜",
    "ㅣ", "：", " |", "| ", ":",
)
# ": " joins a kicker to its headline: not a decoration's separator.
KICKER_SEPARATORS = (":", "：")
DECORATION_SEPARATORS = tuple(s for s in TITLE_SEPARATORS if s.strip() not in KICKER_SEPARATORS)
# Separators some sites glue to the headline without spaces ("Headline-Politics ㅣSite"); a
# glued decoration is cut only at another source's full headline, and only when it is short.
GLUED_SEPARATORS = frozenset("-|｜ㅣ·•»/")
MAX_GLUED_DECORATION = 30  # characters, separator included
MAX_GLUED_WORDS = 3
# Short tails cut at another source's full headline too: a parenthesised note ("Headline
# (Published 2016)") and a section after a spaced colon ("Headline : Sports"), no longer than a
# glued decoration. A colon without a space before it joins a kicker or a subtitle: never cut.
TAIL_NOTE = re.compile(r"\s\((?P<note>[^()]+)\)")
TAIL_SECTION = re.compile(r"\s[:：]\s(?P<section>\S.*)")
# Site-name decorations are stripped at most this many times ("Head - Section | Site").
MAX_DECORATIONS = 3
# A headline cut short for a card or a feed ends with one of these.
ELLIPSES = ("…", "...")
# A stem shorter than this (an ellipsis cut) or another title shorter than this (a decoration
# cut) is too short to identify a headline.
MIN_HEADLINE_MATCH = 12
# Invisible characters left in headlines (soft hyphen, zero-width space, word joiner, BOM): they
# make equal headlines compare unequal. ZWJ/ZWNJ are kept: some scripts need them.
INVISIBLE_CHARS = "\u00ad\u200b\u2060\ufeff"
INVISIBLE = re.compile(f"[{INVISIBLE_CHARS}]")
# Curly and low quotes folded to straight ones when titles from different sources are compared.
QUOTE_FOLD = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
                            "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"'})

# --------------------------------------------------------------------------- authors

# What joins several names in one byline: punctuation always; "and" in the publishers' languages
# only between parts of two words or more each ("Jane Doe und Max Weber", not "RT en Español").
AUTHOR_SEPARATORS = (",", ";", "|", "&", "/", "·", "•")
AUTHOR_CONJUNCTIONS = (
    "and", "und", "et", "y", "e", "en", "i", "og", "och", "ja", "és", "и", "ve", "dan", "oraz",
    "a", "și", "και", "및", "と", "和",
)
AUTHOR_SPLIT = re.compile(
    r"\s*(?:" + "|".join(re.escape(s) for s in AUTHOR_SEPARATORS) + r")\s*"
)
AUTHOR_CONJUNCTION_SPLIT = re.compile(
    rf"\s+(?:{'|'.join(re.escape(w) for w in AUTHOR_CONJUNCTIONS)})\s+", re.IGNORECASE
)
MIN_WORDS_AROUND_CONJUNCTION = 2
# "Written by", "Text:", "Von", "Published by", "Veröffentlicht von": words before the name.
BYLINE_LEAD_WORDS = ("written", "reported", "text", "words", "story", "posted", "published",
                     "veröffentlicht", "geschrieben", "écrit", "publié", "escrito", "publicado",
                     "scritto", "pubblicato", "geschreven", "gepubliceerd", "skrevet", "napisał",
                     "reporting")
BYLINE_PREFIXES = ("by", "von", "par", "por", "door", "av", "af", "from", "autor(?:in)?",
                   "author", "auteur", "autore", "texte?", "testo", "tekst")
AUTHOR_PREFIX = re.compile(
    rf"^(?:(?:{'|'.join(BYLINE_LEAD_WORDS)})\s+)?(?:{'|'.join(BYLINE_PREFIXES)})\s*:?\s+",
    re.IGNORECASE,
)
# Labels glued to the name by markup that lost its space ("ByTravis Haney", "AuthorJane Doe"):
# cut only before a capital, and matched case-sensitively so "Bysshe" or "Parker" stay.
GLUED_PREFIXES = ("By", "BY", "Von", "VON", "Par", "Por", "Door", "Author", "Autor", "Autorin",
                  "Auteur", "Text", "Written by", "Posted by", "Published by")
GLUED_PREFIX = re.compile(rf"^(?:{'|'.join(GLUED_PREFIXES)})(?=[A-ZÀ-ÞĀ-ž][a-zà-ÿ])")
# Bylines in scripts without spaces: "投稿者 ...", "文：...", "記者 ..." (poster, text, reporter).
CJK_BYLINE_PREFIXES = ("投稿者", "著者", "作者", "文", "记者", "記者", "撰文", "글", "글쓴이")
CJK_PREFIX = re.compile(rf"^(?:{'|'.join(CJK_BYLINE_PREFIXES)})\s*[:：/]?\s*")
# A label written twice by nested markup ("Byby JOSH HASKELL").
DOUBLED_PREFIX = re.compile(r"^(by|von|par|por)\1\s+", re.IGNORECASE)
# A byline's trailer: the date, time or "Updated" that follows the names in one element
# ("... and PATRICK REEVELL December 16, 2016, 4:19 PM"); the byline is cut where it starts.
BYLINE_MONTHS = (
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "januar", "februar", "märz", "mai", "juni", "juli", "oktober", "dezember", "janvier",
    "février", "mars", "avril", "juin", "juillet", "août", "septembre", "octobre", "novembre",
    "décembre",
)
BYLINE_TRAILER = re.compile(
    rf"\s(?:(?:{'|'.join(BYLINE_MONTHS)})[a-z]*\.?\s+\d{{1,2}}\b|\d{{1,2}}\.?\s+"
    rf"(?:{'|'.join(BYLINE_MONTHS)})[a-zé]*\b|\d{{1,4}}[./-]\d{{1,2}}[./-]\d{{1,4}}|"
    r"(?:updated|published|aktualisiert|veröffentlicht|mis à jour|publié)\b.*$)",
    re.IGNORECASE,
)
# Lower-case "by" words that are also name particles ("di Mario Rossi", not "Di Maio"): cut
# only before a letter, and only in lower case.
LOWER_CASE_BYLINE_PREFIXES = ("di", "da", "de", "af", "af:")
AUTHOR_PREFIX_LOWER = re.compile(
    rf"^(?:{'|'.join(LOWER_CASE_BYLINE_PREFIXES)})\s+(?=[^\W\d_])"
)
# "Doe, Jane": one family name, a comma, one given name (mixed case: "AFP, MANILA" is not).
FAMILY_FIRST = re.compile(r"([A-ZÀ-Þ][a-zà-ÿ'’-]+),\s*([A-ZÀ-Þ][a-zà-ÿ'’-]+)")
# A credit line, not an author: "Ariel Pierre-Louis at MSA Models", "Paul Warren for Amika".
CREDIT_WORDS = ("at", "for", "using", "via", "courtesy", "für", "pour", "para", "per")
CREDIT = re.compile(rf"\s(?:{'|'.join(CREDIT_WORDS)})\s", re.IGNORECASE)
# Sponsors and advertising labels: never an author, not even as a fallback.
SPONSOR_LABELS = ("sponsored", "sponsor", "anzeige", "advertorial", "advertisement",
                  "paid post", "paid content", "promoted", "partner content", "publireportage",
                  "publicité", "publicidad", "pubblicità", "gesponsert", "werbung",
                  "brand studio", "presented by")
SPONSOR = re.compile(rf"\b(?:{'|'.join(SPONSOR_LABELS)})\b", re.IGNORECASE)
# Roles that follow or precede a name ("Jane Doe, Senior Reporter", "Reporter: Jane Doe").
ROLE_QUALIFIERS = (
    "senior", "chief", "deputy", "staff", "political", "foreign", "business", "sports?",
    "science", "health", "special", "lead", "contributing", "associate", "managing", "executive",
)
ROLES = (
    "reporter", "correspondent", "editor", "writer", "columnist", "journalist", "contributor",
    "photographer", "redakteur(?:in)?", "korrespondent(?:in)?", "journalist(?:in)?",
)
AUTHOR_ROLE = re.compile(
    rf"^(?:(?:{'|'.join(ROLE_QUALIFIERS)})\s+)*(?:{'|'.join(ROLES)})s?$",
    re.IGNORECASE,
)
# A role phrase after a name: up to two words before a role ("Senior Politics Editor", "Culture
# Writer"); cut from a name of at least MIN_NAME_WORDS words before it.
ROLE_PHRASE = re.compile(
    rf"^(?:\S+\s+){{0,2}}(?:{'|'.join(ROLES)})s?$", re.IGNORECASE
)
MIN_NAME_WORDS = 2
# Words that end a name when glued to it without a space ("Andrew HusbandTwitterNews",
# "Howard BlumeStaff Writer"): share buttons, roles and team words.
GLUED_TAIL_WORDS = ("twitter", "facebook", "instagram", "linkedin", "email", "mail", "follow",
                    "staff", "senior", "contributing", "reporter", "writer", "editor",
                    "correspondent", "columnist", "news", "more", "read", "updated", "published")
GLUED_TAIL = re.compile(
    rf"(?<=[a-zà-ÿ])(?:{'|'.join(w.capitalize() for w in GLUED_TAIL_WORDS)})(?![a-z])"
)
# Place names that datelines leave in bylines ("AFP, MANILA", "Jonathan Harding Houston"): the
# world's most frequent dateline cities (a name that is one of them is not a person; one of
# them after a full name is cut).
DATELINE_PLACES = frozenset({
    "london", "paris", "berlin", "washington", "new york", "moscow", "beijing", "tokyo",
    "brussels", "geneva", "rome", "madrid", "vienna", "zurich", "manila", "jakarta", "delhi",
    "new delhi", "mumbai", "seoul", "bangkok", "cairo", "istanbul", "ankara", "tehran",
    "jerusalem", "gaza", "beirut", "kyiv", "kiev", "warsaw", "prague", "budapest", "athens",
    "lisbon", "dublin", "stockholm", "oslo", "copenhagen", "helsinki", "amsterdam", "hamburg",
    "munich", "frankfurt", "los angeles", "san francisco", "chicago", "houston", "boston",
    "miami", "toronto", "ottawa", "montreal", "sydney", "melbourne", "canberra", "nairobi",
    "lagos", "johannesburg", "dubai", "doha", "riyadh", "singapore", "hong kong", "taipei",
    "shanghai", "mexico city", "sao paulo", "são paulo", "rio de janeiro", "buenos aires",
    "bogota", "bogotá", "lima", "santiago", "havana", "caracas", "islamabad", "kabul", "dhaka",
    "hanoi", "kuala lumpur", "wellington", "auckland", "brasilia", "brasília", "ramallah",
})
# Trust in each source's authors before agreement is counted (declared metadata over visible
# markup over trafilatura's heuristics); each other source naming one of the same people adds
# AGREEMENT_BONUS, each naming only others takes it away. A choice below MIN_AUTHOR_CONFIDENCE
# that another source contradicts is dropped: no author rather than a wrong one.
AUTHOR_SOURCE_TRUST = {"jsonld": 0.8, "meta": 0.7, "opengraph": 0.7, "microdata": 0.6,
                       "feed": 0.7, "byline": 0.5, "trafilatura": 0.4}
AGREEMENT_BONUS = 0.1
MIN_AUTHOR_CONFIDENCE = 0.5
# Sources read from visible text, whose names must also look like names (no digits).
VISIBLE_TEXT_SOURCES = frozenset({"byline", "trafilatura"})
# Trailing job words of bylines ("홍길동 기자" = "reporter Hong Gildong").
AUTHOR_SUFFIXES = ("기자", "記者", "特派員", "편집위원")
AUTHOR_SUFFIX = re.compile(rf"\s*(?:{'|'.join(AUTHOR_SUFFIXES)})$")
MAX_AUTHOR_LEN = 60
# Words that make a byline an organisation, not a person.
ORGANISATION_WORDS = (
    "redaktion", "staff", "agency", "agencies", "agentur", "news", "newsroom", "desk", "team",
    "editorial", "editors", "online", "media", "press", "presse", "wire", "service", "services",
    "group", "zeitung", "times", "magazine", "magazin", "radio", "tv", "digital", "newsdesk",
    "redacción", "rédaction", "redazione", "nachrichten", "agenturen", "associated", "reuters",
    "bloomberg", "xinhua", "red", "redazione", "redactie", "redakcja", "toimitus", "newsletter",
    "editorial board", "web desk", "digital desk", "online desk", "correspondents",
)
ORG_WORDS = re.compile(rf"\b(?:{'|'.join(ORGANISATION_WORDS)})\b", re.IGNORECASE)
# A single all-caps token this short is an agency code (AFP, DPA, AP, KNA, REUTERS).
AGENCY_CODE = re.compile(r"[A-Z]{2,8}")
# A name ending like a domain ("mdr.de") is the site, not a person.
DOMAIN_LIKE = re.compile(r"\w\.[a-z]{2,}$", re.IGNORECASE)
# Words of share buttons and menus that byline markup sometimes wraps.
UI_WORDS = frozenset(
    {"twitter", "facebook", "instagram", "linkedin", "whatsapp", "telegram", "email", "e-mail",
     "mail", "share", "teilen", "follow", "folgen", "more", "mehr", "print", "drucken", "login",
     "logout", "ausloggen", "abonnieren", "subscribe", "profile", "profil", "alle", "all",
     "artikel", "articles", "posts", "autor", "author", "autoren", "authors", "menu", "home",
     "updated", "published", "aktualisiert", "veröffentlicht", "anonymous", "admin", "unknown"}
)
NAME_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "da", "del", "della", "di", "du", "la", "le", "bin",
     "ibn", "al", "el", "dos", "das", "do", "ter", "ten", "zu", "y", "e"}
)
# What a person's name is: at most this long, this many words, none of these characters.
MAX_PERSON_LEN = 50
MAX_PERSON_WORDS = 5
NOT_IN_PERSON_NAMES = ':!?"«»'
# Leading characters skipped when reading a name word's initial ("'t Hooft", "(Jo)").
NAME_WORD_OPENERS = "'’("
# Addresses, not names, in a byline part.
ADDRESS_MARKERS = ("@", "://")
ADDRESS_PREFIXES = ("www.",)

# --------------------------------------------------------------------------- topics

# CMS/analytics labels that leak into keyword fields: ids, "key: value" pairs, domains, slugs.
MACHINE_LABEL = re.compile(
    r"[0-9a-f-]{16,}|\d+|.|[^\s]*_[^\s]*|[a-z0-9-]+(?:\.[a-z0-9-]+)+|.*:\S.*|\w[\w ]*: .*"
)
# "Category: Wine", "Subject: Justice": facet labels whose value is a topic.
FACET_WORDS = ("category", "categories", "subject", "subjects", "topic", "topics", "tag", "tags",
               "keyword", "keywords")
FACET_LABEL = re.compile(rf"(?:{'|'.join(FACET_WORDS)})\s*:\s*([^:]+)", re.IGNORECASE)
# Internal classification codes (Reuters "AERO", "INDS08"): short all-caps tokens. A list of at
# least MIN_CODE_LIST items, CODE_LIST_SHARE of them codes, is not keywords.
CLASSIFICATION_CODE = re.compile(r"[A-Z0-9]{2,8}")
MIN_CODE_LIST = 6
CODE_LIST_SHARE = 0.75
# A single list item of this many words or more may be a space-joined list of tags.
MIN_JOINED_WORDS = 4

# --------------------------------------------------------------------------- access

# Who may read the article: free, metered (some articles a month free), subscription, unknown.
ACCESS_STATES = ("free", "metered", "subscription", "unknown")
# Meta tags declaring it (lower-cased key -> value -> state): OpenGraph's article:content_tier
# and the paywall flags publishers' analytics read.
ACCESS_META = {
    "article:content_tier": {"free": "free", "metered": "metered", "locked": "subscription"},
    "og:article:content_tier": {"free": "free", "metered": "metered",
                                "locked": "subscription"},
    "isaccessibleforfree": {"true": "free", "false": "subscription"},
    "paywall": {"true": "subscription", "false": "free", "metered": "metered",
                "hard": "subscription", "soft": "metered"},
    "article:paywall": {"true": "subscription", "false": "free"},
    "cxenseparse:paywall": {"true": "subscription", "false": "free"},
}
# Text ending at one of these (in its last PAYWALL_TAIL characters) stops at a paywall.
PAYWALL_MARKERS = (
    "subscribe to continue reading", "subscribe to read", "to continue reading", "subscribers only",
    "already a subscriber", "for subscribers", "sign in to read", "this article is for subscribers",
    "jetzt weiterlesen", "weiterlesen mit", "exklusiv für abonnenten", "abonnieren sie",
    "für abonnenten", "plus-artikel", "réservé aux abonnés", "abonnez-vous", "il vous reste",
    "para seguir leyendo", "suscríbete", "contenido exclusivo para suscriptores",
    "riservato agli abbonati", "abbonati per", "alleen voor abonnees", "lees verder met",
)
PAYWALL_TAIL = 300
# The page's text is truncated when shorter than this share of the JSON-LD articleBody (or of
# its wordCount): the full text is declared but not shown.
TRUNCATED_SHARE = 0.5
# Confidence of an access state by what gave it.
ACCESS_CONFIDENCE = {"declared": 0.9, "truncated": 0.7, "marker": 0.6, "declared+truncated": 1.0}

# --------------------------------------------------------------------------- confidence

# Trust in a field's source when nothing more is known (authors and dates have tables of their
# own): declared metadata over visible markup over heuristics. Shown next to the provenance.
SOURCE_TRUST = {"jsonld": 0.8, "opengraph": 0.75, "microdata": 0.7, "meta": 0.7, "feed": 0.7,
                "rel-tag": 0.6, "tag-list": 0.5, "time": 0.6, "h1": 0.7, "title-tag": 0.5,
                "dateline": 0.5, "byline": 0.5, "trafilatura": 0.5, "url": 0.5, "detected": 0.5}
# Below this a field is listed by the low_confidence view.
LOW_CONFIDENCE = 0.5

# --------------------------------------------------------------------------- language

# Language detection reads this much text, needs at least MIN_DETECT_TEXT characters, and
# overrides a declared language only on MIN_OVERRIDE_TEXT or more.
DETECT_CHARS = 600
MIN_DETECT_TEXT = 80
MIN_OVERRIDE_TEXT = 600
# The language CMS templates declare by default, left on pages in every language.
TEMPLATE_LANGUAGE = "en"

# --------------------------------------------------------------------------- tag lists

# A publisher's tag box without rel=tag ("<div class="article-tags"><a>Hamas</a>..."): an
# element whose class names a list of tags: one of TAG_LIST_WORDS (plural) as a word of a class
# name, or a singular TAG_LIST_SINGULAR word followed by a TAG_LIST_CONTAINERS word ("tag-list",
# "tagLinks"). "tag-bridges" (WordPress's per-tag class on the article) names no list.
TAG_LIST_WORDS = frozenset({"tags", "keywords", "schlagworte", "schlagwörter", "stichworte",
                            "stichwörter", "etiquetas", "etichette", "trefwoorden", "hashtags"})
TAG_LIST_SINGULAR = frozenset({"tag", "keyword", "schlagwort", "stichwort", "hashtag"})
TAG_LIST_CONTAINERS = frozenset({"list", "links", "box", "container", "wrapper", "group",
                                 "items", "block", "area", "section", "bar", "row"})
# Words that make a tagged element navigation rather than this article's tags.
TAG_LIST_NAVIGATION = frozenset({"cloud", "popular", "trending", "trend", "menu", "nav",
                                 "navigation", "widget", "sidebar", "footer", "most", "top"})
# A tag box links a few topics; more links than this is a site menu or a tag cloud, and a
# longer link text is a teaser headline.
MAX_TAG_LIST_LINKS = 20
MAX_TAG_TEXT = 60

# --------------------------------------------------------------------------- datelines

# The printed dateline ("2019年4月4日", "21. Dezember 2024", "December 21, 2024"): the text of
# the first element whose class has one of these words, when no declared date or <time> gives
# one. A weak source, like trafilatura's guess: a feed or URL date it contradicts wins.
# Not "data": in English class names it is rarely a date.
DATELINE_CLASS_WORDS = frozenset({"date", "pubdate", "dateline", "published", "publish",
                                  "timestamp", "datum", "fecha"})
MAX_DATELINE_TEXT = 80
# Month names of the publishers' languages, written out (lower-cased): a printed month is a
# word of three letters or more that begins one of them, and names a single month ("Sept.",
# "déc", "märz"); a longer word ("Mayor", "Octane", "Mail") names none.
DATELINE_MONTH_NAMES: dict[str, int] = {
    **{
        name: number
        for months in (
            "january february march april may june july august september october november"
            " december",
            "januar februar märz april mai juni juli august september oktober november dezember",
            "janvier février mars avril mai juin juillet août septembre octobre novembre"
            " décembre",
            "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre"
            " diciembre",
            "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre"
            " novembre dicembre",
        )
        for number, name in enumerate(months.split(), start=1)
    },
    "jänner": 1,  # Austrian
    "setiembre": 9,  # Spanish of the Americas
}
