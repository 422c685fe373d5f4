"""A deterministic, made-up multi-publisher news site (HTML, RSS, Atom, OPML) for demo and tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from html import escape

HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
OPML = "text/x-opml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

# Everything below is fictional: invented towns, people, teams and organisations.


@dataclass(frozen=True)
class Publisher:
    prefix: str  # path prefix, e.g. "/daily-herald"; all publishers share one 127.0.0.1 host
    name: str
    tagline: str
    domain_id: str  # stable id used in guids/Atom ids, independent of the loopback port
    nav: tuple[str, ...]
    feed_path: str
    feed_kind: str  # "rss", "atom" or "rss-tracked"


@dataclass(frozen=True)
class ArticleFact:
    """What a correct extractor should find on one article page."""

    path: str
    publisher: str
    headline: str
    section: str
    tags: tuple[str, ...]
    authors: tuple[str, ...]
    published: str  # ISO 8601 with offset
    modified: str
    summary: str
    paragraphs: tuple[str, ...]
    post_id: int

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)  # one paragraph per line, as trafilatura emits


DAILY_HERALD = Publisher(
    prefix="/daily-herald",
    name="The Millbrook Daily Herald",
    tagline="News for Millbrook and the valley since 1911",
    domain_id="daily-herald.example",
    nav=("Politics", "Transport", "Community", "Business", "World"),
    feed_path="/daily-herald/feed/",
    feed_kind="rss",
)
COASTAL_TIMES = Publisher(
    prefix="/coastal-times",
    name="Coastal Times",
    tagline="Port Ellery and the north shore",
    domain_id="coastal-times.example",
    nav=("Weather", "Sport", "Local", "Science", "World"),
    feed_path="/coastal-times/feed/atom/",
    feed_kind="atom",
)
WIRE_REVIEW = Publisher(
    prefix="/wire-review",
    name="The Wire Review",
    tagline="Science, money and culture, reviewed weekly",
    domain_id="wire-review.example",
    nav=("Science", "Economy", "Business", "Culture"),
    feed_path="/wire-review/feed/",
    feed_kind="rss-tracked",
)
PUBLISHERS = (DAILY_HERALD, COASTAL_TIMES, WIRE_REVIEW)

BROKEN_FEED_PATH = "/daily-herald/feed/weekend/"
OPML_PATH = "/feeds.opml"

# The wire story: identical body text on two sites, each with its own headline and chrome.
WIRE_PARAGRAPHS = (
    (
        "LISBON (Continental Press Agency) — Trade ministers from twelve countries around the "
        "Atlantic Rim signed an agreement on Tuesday that will remove tariffs on most farm goods "
        "and machine parts over the next six years, ending nearly four years of negotiations."
    ),
    (
        "The pact covers grain, dairy, fruit, farm machinery and spare parts for tractors and "
        "harvesters. Tariffs on about 80 percent of those goods will fall to zero on the first "
        "day the agreement applies, and the rest will be phased out in equal annual steps."
    ),
    (
        "Negotiators said the hardest chapter concerned dairy quotas. The final text lets each "
        "country keep a safeguard that can restore a tariff for up to two years if imports of a "
        "single product rise by more than a quarter within twelve months."
    ),
    (
        "“This is a practical agreement, not a grand one,” the chair of the talks told "
        "reporters after the signing ceremony. “It removes paperwork that small exporters "
        "have complained about for a decade.”"
    ),
    (
        "Farmers’ associations in several member countries gave a cautious welcome. One "
        "federation said it supported the tariff cuts but wanted a clearer timetable for "
        "common rules on plant-health inspections, which the agreement leaves to a joint "
        "committee."
    ),
    (
        "The agreement must still be ratified by national parliaments. Officials expect the "
        "first countries to complete ratification before the end of the year, and the text "
        "will enter into force once seven signatories have done so."
    ),
)

# (publisher, slug, date path, post id, headline, section, tags, authors, published, modified,
#  summary, paragraphs)
_STORIES: list[tuple] = [
    (
        DAILY_HERALD,
        "council-approves-budget-road-repairs",
        "2026/03/02",
        101,
        "Millbrook council approves €48.2 million budget with road repairs first",
        "Politics",
        ("Budget", "City Council", "Roads"),
        ("Maria Lindqvist",),
        "2026-03-02T07:15:00+00:00",
        "2026-03-02T09:40:00+00:00",
        (
            "Councillors voted 19 to 8 for a budget that puts potholes and drainage ahead of "
            "new projects."
        ),
        (
            (
                "Millbrook city council approved a €48.2 million budget for the coming year on "
                "Monday night, after a four-hour debate in which road repairs emerged as the one "
                "priority almost every councillor could agree on."
            ),
            (
                "The budget passed by 19 votes to 8. It sets aside €6.1 million for resurfacing "
                "and drainage, nearly double last year’s figure, and freezes spending on new "
                "building projects until a review of the council’s property portfolio is "
                "finished in the autumn."
            ),
            (
                "The finance committee chair, Councillor Ruth Abernathy, said residents had made "
                "their views plain during the consultation. “We received more than 2,300 "
                "responses, and the word that came up most often was ‘potholes’,” she said."
            ),
            (
                "Opposition councillors argued that the freeze would delay the planned sports "
                "hall in the Eastfield district by at least a year. An amendment to restore its "
                "funding was defeated by 17 votes to 10."
            ),
            (
                "Council tax will rise by 2.9 percent, below the rate of inflation. Charges for "
                "parking in the town centre will stay the same, although evening charges will "
                "be introduced in the two multi-storey car parks from June."
            ),
            (
                "The budget also includes €350,000 for a trial of extended bus services to the "
                "outlying villages, which will be reviewed after twelve months."
            ),
        ),
    ),
    (
        DAILY_HERALD,
        "old-mill-bridge-reopens",
        "2026/03/04",
        102,
        "Old Mill Bridge reopens to traffic after 14-month restoration",
        "Transport",
        ("Bridges", "Roads", "Infrastructure"),
        ("Tom Achebe", "Hannah Feld"),
        "2026-03-04T11:00:00+00:00",
        "2026-03-04T11:00:00+00:00",
        (
            "The 19th-century stone bridge over the River Wend carries cars again, with a new "
            "weight limit and a widened footpath."
        ),
        (
            (
                "The Old Mill Bridge over the River Wend reopened to traffic on Wednesday "
                "morning, fourteen months after it was closed when inspectors found cracks in "
                "two of its three stone arches."
            ),
            (
                "The first vehicle across was a number 7 bus, which had been diverted through "
                "the industrial estate for more than a year, adding around ten minutes to each "
                "journey between the station and the northern estates."
            ),
            (
                "Engineers rebuilt the damaged arches using stone from the original quarry, "
                "which reopened briefly for the project. The deck was waterproofed and the "
                "footpath on the downstream side was widened to two metres."
            ),
            (
                "A weight limit of 18 tonnes now applies, which means heavy goods vehicles will "
                "continue to use the bypass. Cameras will be installed at both ends of the "
                "bridge next month to enforce the limit."
            ),
            (
                "The restoration cost €3.4 million, about €400,000 more than first estimated. "
                "The council said the overrun was caused by flooding last winter, which stopped "
                "work on the riverbed for seven weeks."
            ),
            (
                "Shopkeepers on Mill Street said trade had fallen while the bridge was shut. "
                "“People just stopped coming this way,” said the owner of a hardware shop. "
                "“Today is the first busy morning we have had since last January.”"
            ),
            (
                "A small ceremony is planned for Saturday, when the bridge will be closed to "
                "traffic for two hours so residents can walk across it."
            ),
        ),
    ),
    (
        DAILY_HERALD,
        "central-library-sunday-opening",
        "2026/03/05",
        103,
        "Central library to open on Sundays from April",
        "Community",
        ("Libraries", "Education"),
        ("Priya Raman",),
        "2026-03-05T08:00:00+00:00",
        "2026-03-05T08:00:00+00:00",
        (
            "A six-month trial will open the main reading room and children’s floor from "
            "11am to 4pm on Sundays."
        ),
        (
            (
                "Millbrook’s central library will open on Sundays for the first time from "
                "April, as part of a six-month trial funded by a local education trust."
            ),
            (
                "The reading room, the children’s floor and the public computers will be "
                "available from 11am to 4pm. The archive and the local history room will remain "
                "closed on Sundays because they need specialist staff."
            ),
            (
                "Library managers said weekday visits had recovered to about 90 percent of "
                "their level before the building’s refurbishment, but that families had asked "
                "repeatedly for weekend hours beyond Saturday mornings."
            ),
            (
                "The trial will be staffed by existing employees working paid overtime, along "
                "with volunteers from the Friends of Millbrook Library, who will run a reading "
                "club for primary school children."
            ),
            (
                "Visitor numbers will be counted every Sunday, and the trust has said it will "
                "consider funding a permanent arrangement if attendance averages more than 400 "
                "people a day."
            ),
        ),
    ),
    (
        DAILY_HERALD,
        "farmers-market-moves-to-riverside",
        "2026/03/07",
        104,
        "Farmers’ market moves to the riverside for the summer season",
        "Business",
        ("Markets", "Local Business"),
        ("Daniel Okafor",),
        "2026-03-07T09:30:00+00:00",
        "2026-03-07T10:05:00+00:00",
        (
            "Stallholders hope the new site by the river will draw more visitors than the "
            "car park behind the town hall."
        ),
        (
            (
                "Millbrook’s weekly farmers’ market will move from the town hall car park to "
                "the riverside walk in May, after stallholders voted in favour of the change "
                "by a wide margin."
            ),
            (
                "The market has about 35 regular traders selling vegetables, cheese, bread, "
                "honey and plants. Several said the car park felt hidden from passing visitors "
                "and became uncomfortably hot in July and August."
            ),
            (
                "The riverside site has room for up to 50 stalls, shade from a row of plane "
                "trees and a direct path from the restored Old Mill Bridge."
            ),
            (
                "The market association’s secretary said the move would be reviewed in "
                "September. “If it works, we stay. If it rains every Saturday, we will think "
                "again,” she said."
            ),
            (
                "The council will close the riverside walk to cyclists between 7am and 2pm on "
                "market days. A temporary cycle route will be signposted along Quay Lane."
            ),
        ),
    ),
    (
        DAILY_HERALD,
        "atlantic-rim-trade-agreement-signed",
        "2026/03/10",
        105,
        "Twelve nations sign Atlantic Rim trade agreement",
        "World",
        ("Trade", "Tariffs"),
        ("Elena Varga",),
        "2026-03-10T14:00:00+00:00",
        "2026-03-10T14:00:00+00:00",
        "Tariffs on most farm goods and machine parts will fall to zero over six years.",
        WIRE_PARAGRAPHS,
    ),
    (
        COASTAL_TIMES,
        "amber-wind-warning-storm-fenna",
        "news",
        201,
        "Amber wind warning issued for the coast as Storm Fenna approaches",
        "Weather",
        ("Storm", "Weather Warning", "Ferries"),
        ("Sean Whitcombe",),
        "2026-03-11T06:45:00+00:00",
        "2026-03-11T06:45:00+00:00",
        ("Gusts of up to 110 km/h are expected along the north shore from Wednesday afternoon."),
        (
            (
                "Forecasters have issued an amber wind warning for the north shore from 2pm on "
                "Wednesday until 6am on Thursday as Storm Fenna moves in from the west."
            ),
            (
                "Gusts of 90 to 110 km/h are expected on exposed headlands, with waves of up to "
                "seven metres off the harbour wall. Inland, gusts are likely to reach 70 to "
                "80 km/h."
            ),
            (
                "The ferry operator said the afternoon crossings to the islands had been "
                "cancelled and that the evening sailing was under review. Passengers with "
                "tickets can travel on Thursday or claim a refund."
            ),
            (
                "Port Ellery harbour master asked boat owners to double their mooring lines "
                "and to stay away from the sea wall, where spray has in the past knocked people "
                "off their feet."
            ),
            (
                "Schools will open as normal, but the county council said bus routes over the "
                "coast road might be diverted if fallen trees block the carriageway."
            ),
            (
                "The warning is the second of the winter. The first, in January, brought down "
                "power lines in three villages and left about 1,200 homes without electricity "
                "overnight."
            ),
        ),
    ),
    (
        COASTAL_TIMES,
        "rovers-beat-harbour-athletic",
        "sport",
        202,
        "Port Ellery Rovers come from behind to beat Harbour Athletic 2-1",
        "Sport",
        ("Football", "Rovers"),
        ("Jamie Calloway",),
        "2026-03-08T21:30:00+00:00",
        "2026-03-08T22:10:00+00:00",
        "Two goals in the last twenty minutes lift Rovers to fourth in the table.",
        (
            (
                "Port Ellery Rovers scored twice in the last twenty minutes to beat local "
                "rivals Harbour Athletic 2-1 at Quayside Park on Sunday and move up to fourth in "
                "the league."
            ),
            (
                "Athletic took the lead just before half-time when their captain headed in a "
                "corner at the near post. Rovers had most of the ball in the first half but "
                "created few clear chances against a well-organised defence."
            ),
            (
                "The home side changed shape after the break, bringing on two wingers, and the "
                "pressure told in the 71st minute when substitute Callum Reyes turned in a low "
                "cross from the left."
            ),
            (
                "The winner came six minutes from time. Defender Ola Ndiaye stayed forward "
                "after a free kick and volleyed the rebound into the roof of the net, sending "
                "most of the crowd of 3,412 onto their feet."
            ),
            (
                "“We showed patience,” the Rovers manager said afterwards. “At half-time I "
                "told them the chances would come if we moved the ball faster. They did the "
                "rest.”"
            ),
            (
                "Athletic remain ninth. Rovers travel to Kingsford on Saturday, while Athletic "
                "host the league leaders."
            ),
        ),
    ),
    (
        COASTAL_TIMES,
        "harbour-dredging-ferry-low-tide",
        "news",
        203,
        "Harbour dredging to keep the island ferry running at low tide",
        "Local",
        ("Harbour", "Ferries"),
        ("Aoife Brennan",),
        "2026-03-06T10:00:00+00:00",
        "2026-03-06T10:00:00+00:00",
        ("A silted channel has forced the ferry to wait for the tide on eleven days this winter."),
        (
            (
                "Dredging will begin at Port Ellery harbour next month to deepen the channel "
                "used by the island ferry, which has been unable to leave at low tide on "
                "eleven days since November."
            ),
            (
                "The harbour board said sand carried in by winter storms had reduced the depth "
                "of the channel by almost a metre in places. The work will remove about 40,000 "
                "cubic metres of sediment over five weeks."
            ),
            (
                "The sediment will be tested and, if it is clean, placed on the eastern beach, "
                "where erosion has exposed the foundations of the old lifeboat slipway."
            ),
            (
                "Island residents welcomed the plan. Many commute to the mainland for work or "
                "school, and delays of several hours have meant missed shifts and medical "
                "appointments."
            ),
            (
                "The ferry timetable will not change during the dredging, although the vessel "
                "will use the north berth while the contractor works near the main pier."
            ),
        ),
    ),
    (
        COASTAL_TIMES,
        "seagrass-meadows-store-more-carbon",
        "science",
        204,
        "Seagrass meadows off Port Ellery store more carbon than expected, study finds",
        "Science",
        ("Research", "Climate", "Marine Life"),
        ("Aoife Brennan", "Luis Ortega"),
        "2026-03-09T12:00:00+00:00",
        "2026-03-09T12:00:00+00:00",
        (
            "Sediment cores from the bay hold about a third more carbon per hectare than the "
            "regional average."
        ),
        (
            (
                "Seagrass meadows in the bay off Port Ellery store about a third more carbon per "
                "hectare than the average for the region, according to a study by marine "
                "scientists at the North Shore Institute."
            ),
            (
                "The team took 64 sediment cores from six meadows over two summers and measured "
                "the organic carbon in each layer. The deepest cores reached sediment laid down "
                "more than 600 years ago."
            ),
            (
                "The researchers think the sheltered shape of the bay helps: fine particles "
                "settle instead of being washed out, burying plant material before it can "
                "decompose."
            ),
            (
                "“The numbers surprised us,” said the study’s lead author. “It suggests that "
                "small, sheltered bays may matter more than their size would indicate.”"
            ),
            (
                "The meadows have shrunk by about a fifth since the 1990s, mainly because of "
                "boat anchors and moorings. The study recommends eco-friendly moorings that do "
                "not drag across the seabed."
            ),
            (
                "The harbour board said it would discuss the recommendation at its next "
                "meeting, alongside a plan to mark the meadows on local charts."
            ),
            "The findings are published in a peer-reviewed journal of coastal ecology.",
        ),
    ),
    (
        COASTAL_TIMES,
        "trade-pact-cuts-farm-tariffs",
        "world",
        205,
        "Trade pact cuts tariffs on farm goods across the Atlantic Rim",
        "World",
        ("Trade", "Agriculture"),
        ("Elena Varga",),
        "2026-03-10T15:20:00+00:00",
        "2026-03-10T15:20:00+00:00",
        "Dairy safeguards were the last obstacle in four years of talks.",
        WIRE_PARAGRAPHS,
    ),
    (
        WIRE_REVIEW,
        "pulsar-timed-to-40-nanoseconds",
        "2026/03",
        301,
        "Astronomers time a distant pulsar to within 40 nanoseconds",
        "Science",
        ("Astronomy", "Physics"),
        ("Mei Tanaka",),
        "2026-03-03T16:00:00+00:00",
        "2026-03-03T16:00:00+00:00",
        "Fifteen years of radio observations make one spinning star a near-perfect clock.",
        (
            (
                "A team of radio astronomers has timed the pulses of a distant neutron star to "
                "within 40 nanoseconds over fifteen years of observations, one of the most "
                "precise measurements of its kind."
            ),
            (
                "The star spins more than 300 times a second and sweeps a beam of radio waves "
                "past the Earth on every turn. Because its rotation is so steady, small delays "
                "in the arrival of the pulses can reveal effects along the way."
            ),
            (
                "The researchers combined data from four radio telescopes and corrected for "
                "the motion of the Earth, the slowing of the signal by interstellar gas and "
                "tiny irregularities in the observatories’ own clocks."
            ),
            (
                "They say the result will improve the search for very long gravitational "
                "waves, which would stretch and squeeze the space between the star and the "
                "Earth by a tiny amount over years."
            ),
            (
                "Independent researchers called the analysis careful but noted that one pulsar "
                "alone cannot confirm such waves; that requires dozens of stars timed together."
            ),
        ),
    ),
    (
        WIRE_REVIEW,
        "central-bank-holds-rate",
        "2026/03",
        302,
        "Central bank holds interest rate at 2.75 percent",
        "Economy",
        ("Interest Rates", "Inflation"),
        ("Robert Nkemelu",),
        "2026-03-05T13:00:00+00:00",
        "2026-03-05T13:30:00+00:00",
        ("Policymakers say inflation is close to target but want more evidence before cutting."),
        (
            (
                "The central bank left its main interest rate unchanged at 2.75 percent on "
                "Thursday, saying inflation was close to its target but that it wanted more "
                "evidence before lowering borrowing costs."
            ),
            (
                "Seven of the nine members of the rate-setting committee voted to hold. Two "
                "voted for a cut of a quarter of a percentage point, citing weaker hiring in "
                "manufacturing."
            ),
            (
                "Consumer prices rose 2.3 percent in the year to January, down from a peak of "
                "more than 6 percent two years ago. Services inflation, which tracks wages "
                "closely, remains higher at 3.4 percent."
            ),
            (
                "The bank’s new forecasts show growth of 1.2 percent this year, slightly lower "
                "than projected in the autumn, with unemployment edging up to 4.6 percent."
            ),
            (
                "Most economists expect the first cut in the summer. Mortgage lenders have "
                "already begun trimming fixed rates in anticipation."
            ),
        ),
    ),
    (
        WIRE_REVIEW,
        "rail-freight-volumes-rise",
        "2026/03",
        303,
        "Rail freight volumes rise for a third straight quarter",
        "Business",
        ("Rail", "Logistics"),
        ("Sofia Marchetti",),
        "2026-03-07T08:00:00+00:00",
        "2026-03-07T08:00:00+00:00",
        ("Container traffic from the ports drove the increase, according to industry figures."),
        (
            (
                "Goods moved by rail rose for the third quarter in a row at the end of last "
                "year, according to figures published by the national rail freight "
                "association."
            ),
            (
                "Tonne-kilometres increased by 4.8 percent compared with the same quarter a "
                "year earlier. Container traffic from the ports accounted for most of the "
                "growth, while coal and steel volumes continued to fall."
            ),
            (
                "Operators said longer trains had made a difference. Since the autumn, several "
                "routes have been cleared for trains of up to 740 metres, allowing each service "
                "to carry about a fifth more containers."
            ),
            (
                "The association warned that a shortage of terminals near large cities was "
                "limiting further growth, and called for planning rules that treat freight "
                "terminals like other transport infrastructure."
            ),
            (
                "Road hauliers’ groups said the figures should be seen in context: lorries "
                "still carry more than four-fifths of domestic freight."
            ),
        ),
    ),
    (
        WIRE_REVIEW,
        "riverside-film-festival-programme",
        "2026/03",
        304,
        "Riverside film festival announces a programme of 62 debut features",
        "Culture",
        ("Film", "Festivals"),
        ("Jonas Berg",),
        "2026-03-09T10:00:00+00:00",
        "2026-03-09T10:00:00+00:00",
        ("For the first time the festival will show only first films in its main competition."),
        (
            (
                "The Riverside film festival will show 62 debut features at its spring edition, "
                "the organisers announced on Monday, and for the first time its main "
                "competition will be open only to first-time directors."
            ),
            (
                "The programme includes films from 28 countries, among them a documentary about "
                "lighthouse keepers, a comedy set in a hospital laundry and an animated feature "
                "made by a team of six people over four years."
            ),
            (
                "The festival director said the change reflected what audiences had asked for. "
                "“People come to us to discover someone new. We decided to make that the "
                "whole point,” she said."
            ),
            (
                "Screenings will take place in four cinemas and, on warm evenings, on an "
                "open-air screen beside the river. Tickets go on sale next week, with "
                "discounts for students and people over 65."
            ),
            (
                "The jury will be chaired by a cinematographer who won the festival’s "
                "audience award with her own first film fifteen years ago."
            ),
        ),
    ),
]

UPDATED_POST_ID = 201
UPDATED_MODIFIED = "2026-03-11T18:40:00+00:00"
UPDATE_PARAGRAPH = (
    "Update: At 6.40pm forecasters lifted the amber warning several hours early as the storm "
    "tracked further north than expected. The evening ferry sailed at 8pm, and the county "
    "council said no roads had been closed."
)
# The same article listed twice in the tracked feed, with different campaign parameters.
DUPLICATE_LISTED_POST_ID = 301
SYNDICATED_POST_IDS = (105, 205)


def _slugify(text: str) -> str:
    out = "".join(c.lower() if c.isalnum() else "-" for c in text)
    return "-".join(part for part in out.split("-") if part)


def _article_path(pub: Publisher, date_path: str, slug: str) -> str:
    return f"{pub.prefix}/{date_path}/{slug}/"


def _facts(version: int) -> list[ArticleFact]:
    facts = []
    for (
        pub,
        slug,
        date_path,
        post_id,
        headline,
        section,
        tags,
        authors,
        pub_at,
        mod_at,
        summ,
        paras,
    ) in _STORIES:
        if version >= 2 and post_id == UPDATED_POST_ID:
            mod_at = UPDATED_MODIFIED
            paras = (*paras, UPDATE_PARAGRAPH)
        facts.append(
            ArticleFact(
                path=_article_path(pub, date_path, slug),
                publisher=pub.name,
                headline=headline,
                section=section,
                tags=tuple(tags),
                authors=tuple(authors),
                published=pub_at,
                modified=mod_at,
                summary=summ,
                paragraphs=tuple(paras),
                post_id=post_id,
            )
        )
    return facts


def _publisher_of(fact: ArticleFact) -> Publisher:
    return next(p for p in PUBLISHERS if p.name == fact.publisher)


def _human_date(iso: str) -> str:
    d = datetime.fromisoformat(iso)
    return f"{d.strftime('%B')} {d.day}, {d.year}"


def _rfc822(iso: str) -> str:
    return format_datetime(datetime.fromisoformat(iso))


def _json_ld(data: object) -> str:
    # "</" inside a script block would end it early, so escape the slash as JSON allows.
    return json.dumps(data, ensure_ascii=False, indent=2).replace("</", "<\\/")


def _json_ld_for(fact: ArticleFact, pub: Publisher, base: str) -> str:
    url = base + fact.path
    people = [{"@type": "Person", "name": a} for a in fact.authors]
    org = {"@type": "NewsMediaOrganization", "name": pub.name, "url": f"{base}{pub.prefix}/"}
    if pub is COASTAL_TIMES:
        # Yoast-style @graph with id references and a comma-separated keywords string,
        # the shape most WordPress news sites actually emit.
        return _json_ld(
            {
                "@context": "https://schema.org",
                "@graph": [
                    {"@type": "WebPage", "@id": url, "url": url, "name": fact.headline},
                    {
                        "@type": "NewsArticle",
                        "@id": url + "#article",
                        "isPartOf": {"@id": url},
                        "mainEntityOfPage": {"@id": url},
                        "headline": fact.headline,
                        "description": fact.summary,
                        "datePublished": fact.published,
                        "dateModified": fact.modified,
                        "author": people,
                        "publisher": {"@id": f"{base}{pub.prefix}/#organization"},
                        "articleSection": [fact.section],
                        "keywords": ", ".join(fact.tags),
                        "inLanguage": "en-GB",
                    },
                    {**org, "@id": f"{base}{pub.prefix}/#organization"},
                ],
            }
        )
    article = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "headline": fact.headline,
        "description": fact.summary,
        "datePublished": fact.published,
        "dateModified": fact.modified,
        "author": people,
        "publisher": org,
        "articleSection": fact.section,
        "keywords": list(fact.tags) if pub is DAILY_HERALD else ", ".join(fact.tags),
        "inLanguage": "en",
    }
    if fact.post_id in SYNDICATED_POST_IDS:
        article["sourceOrganization"] = {
            "@type": "Organization",
            "name": "Continental Press Agency",
        }
    return _json_ld(article)


def _a(href: str, text: str, rel: str = "") -> str:
    rel_attr = f' rel="{escape(rel)}"' if rel else ""
    return f'<a href="{escape(href)}"{rel_attr}>{escape(text, quote=False)}</a>'


def render_article(fact: ArticleFact, base: str, siblings: list[ArticleFact]) -> str:
    pub = _publisher_of(fact)
    url = base + fact.path
    home = f"{base}{pub.prefix}/"
    e = escape
    meta_tags = "\n".join(f'<meta property="article:tag" content="{e(t)}">' for t in fact.tags)
    nav = "".join(f"<li>{_a(f'{home}category/{_slugify(s)}/', s)}</li>" for s in pub.nav)
    byline = " and ".join(
        f'<span class="author vcard">{_a(f"{home}author/{_slugify(a)}/", a)}</span>'
        for a in fact.authors
    )
    body = "\n".join(f"<p>{e(p, quote=False)}</p>" for p in fact.paragraphs)
    category = _a(f"{home}category/{_slugify(fact.section)}/", fact.section, "category tag")
    tags = ", ".join(_a(f"{home}tag/{_slugify(t)}/", t, "tag") for t in fact.tags)
    # "Most read" carries other headlines: boilerplate an extractor must not take as text.
    most_read = "\n".join(
        f"<li>{_a(base + s.path, s.headline)}</li>" for s in siblings if s.path != fact.path
    )
    credit = ""
    if fact.post_id in SYNDICATED_POST_IDS:
        # In the byline, not the body, so both copies' extracted text equals fact.text.
        credit = ' <span class="wire-credit">Continental Press Agency</span>'
    feed_type = ATOM.split(";")[0] if pub.feed_kind == "atom" else RSS.split(";")[0]
    return f"""<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(fact.headline, quote=False)} | {e(pub.name, quote=False)}</title>
<meta name="description" content="{e(fact.summary)}">
<meta name="author" content="{e(", ".join(fact.authors))}">
<link rel="canonical" href="{e(url)}">
<link rel="alternate" type="{feed_type}" title="{e(pub.name)} &raquo; Feed"
 href="{e(base + pub.feed_path)}">
<meta property="og:locale" content="en_US">
<meta property="og:type" content="article">
<meta property="og:title" content="{e(fact.headline)}">
<meta property="og:description" content="{e(fact.summary)}">
<meta property="og:url" content="{e(url)}">
<meta property="og:site_name" content="{e(pub.name)}">
<meta property="article:published_time" content="{fact.published}">
<meta property="article:modified_time" content="{fact.modified}">
<meta property="article:section" content="{e(fact.section)}">
{meta_tags}
<meta name="twitter:card" content="summary">
<script type="application/ld+json">
{_json_ld_for(fact, pub, base)}
</script>
</head>
<body class="post-template-default single single-post postid-{fact.post_id} single-format-standard">
<div id="cookie-notice" class="cookie-notice">We use cookies to understand how our site is used.
<button type="button">Accept</button></div>
<div id="page" class="site">
<header id="masthead" class="site-header">
<div class="site-branding">
<p class="site-title">{_a(home, pub.name, "home")}</p>
<p class="site-description">{e(pub.tagline, quote=False)}</p>
</div>
<nav id="site-navigation" class="main-navigation"><ul class="menu">{nav}</ul></nav>
</header>
<div id="content" class="site-content">
<main id="main" class="site-main">
<article id="post-{fact.post_id}" class="post-{fact.post_id} post type-post status-publish
 format-standard hentry category-{_slugify(fact.section)}">
<header class="entry-header">
<h1 class="entry-title">{e(fact.headline, quote=False)}</h1>
<div class="entry-meta"><span class="byline">By {byline}</span>{credit} <span class="posted-on">
<time class="entry-date published" datetime="{fact.published}">{_human_date(fact.published)}</time>
<time class="updated" datetime="{fact.modified}">{_human_date(fact.modified)}</time>
</span></div>
</header>
<div class="entry-content">
{body}
</div>
<div class="entry-footer">Categorized in: {category} Tagged in: {tags}</div>
</article>
<div class="sharedaddy"><h3 class="sd-title">Share this:</h3>
<ul><li><a href="#share-email">Email</a></li><li><a href="#share-print">Print</a></li></ul></div>
</main>
<aside id="secondary" class="widget-area">
<section class="widget widget_most_read"><h2 class="widget-title">Most read</h2>
<ol>
{most_read}
</ol>
</section>
<section class="widget widget_newsletter"><h2 class="widget-title">Newsletter</h2>
<p>Get the morning briefing from {e(pub.name, quote=False)} in your inbox every weekday.</p>
</section>
</aside>
</div>
<footer id="colophon" class="site-footer">
<p>&copy; 2026 {e(pub.name, quote=False)}. All rights reserved.</p>
<p>{_a(home + "about/", "About us")} | {_a(home + "contact/", "Contact")}
 | {_a(home + "privacy-policy/", "Privacy policy")}</p>
</footer>
</div>
</body>
</html>
"""


def _render_home(pub: Publisher, base: str, facts: list[ArticleFact]) -> str:
    items = "\n".join(
        f'<li><h2 class="entry-title">{_a(base + f.path, f.headline)}</h2>'
        f"<p>{escape(f.summary, quote=False)}</p></li>"
        for f in facts
    )
    return f"""<!DOCTYPE html>
<html lang="en-US">
<head><meta charset="UTF-8">
<title>{escape(pub.name, quote=False)} | {escape(pub.tagline, quote=False)}</title>
<meta property="og:site_name" content="{escape(pub.name)}">
<link rel="alternate" type="{(ATOM if pub.feed_kind == "atom" else RSS).split(";")[0]}"
 href="{escape(base + pub.feed_path)}">
</head>
<body class="home blog"><h1>{escape(pub.name, quote=False)}</h1><ul class="posts">
{items}
</ul></body></html>
"""


def _render_root(base: str) -> str:
    items = "\n".join(f"<li>{_a(f'{base}{p.prefix}/', p.name)}</li>" for p in PUBLISHERS)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8"><title>news-ingest sample site</title></head>
<body><h1>Sample publishers (fictional)</h1><ul>
{items}
</ul><p><a href="{base}{OPML_PATH}">OPML of all feeds</a></p></body></html>
"""


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _html_body(fact: ArticleFact) -> str:
    return "".join(f"<p>{escape(p, quote=False)}</p>" for p in fact.paragraphs)


def _render_rss(pub: Publisher, base: str, facts: list[ArticleFact]) -> str:
    """WordPress-style RSS 2.0: opaque guid, dc:creator, categories, content:encoded, ttl."""
    newest = max(f.modified for f in facts)
    items = []
    for f in sorted(facts, key=lambda f: f.published, reverse=True):
        cats = "".join(f"<category>{_cdata(c)}</category>" for c in (f.section, *f.tags))
        creators = "".join(f"<dc:creator>{_cdata(a)}</dc:creator>" for a in f.authors)
        items.append(
            f"""<item>
<title>{escape(f.headline, quote=False)}</title>
<link>{escape(base + f.path)}</link>
{creators}
<pubDate>{_rfc822(f.published)}</pubDate>
{cats}
<guid isPermaLink="false">{escape(f"https://{pub.domain_id}/?p={f.post_id}")}</guid>
<description>{_cdata(f.summary)}</description>
<content:encoded>{_cdata(_html_body(f))}</content:encoded>
</item>"""
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
<title>{escape(pub.name, quote=False)}</title>
<atom:link href="{escape(base + pub.feed_path)}" rel="self" type="application/rss+xml"/>
<link>{escape(f"{base}{pub.prefix}/")}</link>
<description>{escape(pub.tagline, quote=False)}</description>
<lastBuildDate>{_rfc822(newest)}</lastBuildDate>
<language>en-GB</language>
<ttl>30</ttl>
<generator>https://wordpress.org/?v=6.5</generator>
{chr(10).join(items)}
</channel>
</rss>
"""


def _tracked(url: str, campaign: str) -> str:
    return f"{url}?utm_source=rss&utm_medium=feed&utm_campaign={campaign}"


def _render_tracked_rss(pub: Publisher, base: str, facts: list[ArticleFact]) -> str:
    """RSS whose item links carry utm_* parameters; one article is listed twice."""
    newest = max(f.modified for f in facts)
    entries: list[tuple[ArticleFact, str]] = [(f, "weekly") for f in facts]
    dup = next(f for f in facts if f.post_id == DUPLICATE_LISTED_POST_ID)
    # Newsletters re-list a popular piece under another campaign: same article, new URL.
    entries.append((dup, "editors-picks"))
    entries.sort(key=lambda pair: pair[0].published, reverse=True)
    items = []
    for f, campaign in entries:
        link = _tracked(base + f.path, campaign)
        items.append(
            f"""<item>
<title>{escape(f.headline, quote=False)}</title>
<link>{escape(link)}</link>
<author>{escape(f"desk@{pub.domain_id} ({', '.join(f.authors)})", quote=False)}</author>
<pubDate>{_rfc822(f.published)}</pubDate>
<category>{escape(f.section, quote=False)}</category>
<guid isPermaLink="true">{escape(link)}</guid>
<description>{escape(f.summary, quote=False)}</description>
</item>"""
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
<channel>
<title>{escape(pub.name, quote=False)}</title>
<link>{escape(f"{base}{pub.prefix}/")}</link>
<description>{escape(pub.tagline, quote=False)}</description>
<lastBuildDate>{_rfc822(newest)}</lastBuildDate>
<ttl>60</ttl>
{chr(10).join(items)}
</channel>
</rss>
"""


def _render_atom(pub: Publisher, base: str, facts: list[ArticleFact]) -> str:
    newest = max(f.modified for f in facts)
    entries = []
    for f in sorted(facts, key=lambda f: f.modified, reverse=True):
        authors = "".join(
            f"<author><name>{escape(a, quote=False)}</name></author>" for a in f.authors
        )
        cats = "".join(
            f'<category scheme="{escape(base + pub.prefix)}/" term="{escape(c)}"/>'
            for c in (f.section, *f.tags)
        )
        entries.append(
            f"""<entry>
<title type="text">{escape(f.headline, quote=False)}</title>
<link rel="alternate" type="text/html" href="{escape(base + f.path)}"/>
<id>tag:{pub.domain_id},2026:post-{f.post_id}</id>
<published>{f.published}</published>
<updated>{f.modified}</updated>
{authors}
{cats}
<summary type="text">{escape(f.summary, quote=False)}</summary>
<content type="html">{escape(_html_body(f), quote=False)}</content>
</entry>"""
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-GB">
<title type="text">{escape(pub.name, quote=False)}</title>
<subtitle type="text">{escape(pub.tagline, quote=False)}</subtitle>
<id>tag:{pub.domain_id},2026:feed</id>
<updated>{newest}</updated>
<link rel="alternate" type="text/html" href="{escape(f"{base}{pub.prefix}/")}"/>
<link rel="self" type="application/atom+xml" href="{escape(base + pub.feed_path)}"/>
<generator uri="https://wordpress.org/" version="6.5">WordPress</generator>
{chr(10).join(entries)}
</feed>
"""


def _render_broken_feed(base: str, facts: list[ArticleFact]) -> str:
    # A feed cut off mid-transfer: well-formed start, truncated inside the channel header,
    # so no entry can be recovered and a parser must report it as malformed (bozo).
    full = _render_rss(DAILY_HERALD, base, facts)
    cut = full.index("<lastBuildDate>") + len("<lastBuildDate>Tue, 10 Ma")
    return full[:cut]


def _render_opml(base: str) -> str:
    outlines = [
        f'<outline type="rss" text="{escape(p.name)}" title="{escape(p.name)}" '
        f'xmlUrl="{escape(base + p.feed_path)}" htmlUrl="{escape(f"{base}{p.prefix}/")}"/>'
        for p in PUBLISHERS
    ]
    outlines.append(
        f'<outline type="rss" text="Daily Herald weekend edition" '
        f'xmlUrl="{escape(base + BROKEN_FEED_PATH)}" htmlUrl="{escape(f"{base}/daily-herald/")}"/>'
    )
    body = "\n".join(outlines)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
<head><title>news-ingest sample feeds</title>
<dateCreated>Wed, 11 Mar 2026 07:00:00 GMT</dateCreated></head>
<body>
<outline text="Sample news" title="Sample news">
{body}
</outline>
</body>
</opml>
"""


@dataclass
class SampleSite:
    """Routes to serve plus the facts tests and the demo can rely on."""

    base_url: str
    version: int
    routes: dict[str, tuple[str, bytes]]
    articles: tuple[ArticleFact, ...]
    feed_paths: list[str]  # the good feeds, one per publisher
    broken_feed_path: str
    opml_path: str
    opml_bytes: bytes
    syndicated_story_paths: tuple[str, str]  # (earlier copy, later copy); same body text
    updated_article_path: str
    duplicate_listed_path: str  # listed twice, under two utm_campaign values
    tracked_feed_path: str
    feed_entry_counts: dict[str, int] = field(default_factory=dict)

    @property
    def article_paths(self) -> list[str]:
        return [a.path for a in self.articles]

    @property
    def all_feed_paths(self) -> list[str]:
        return [*self.feed_paths, self.broken_feed_path]

    @property
    def expected_article_count(self) -> int:
        """Distinct article URLs (after dropping tracking params) from all good feeds."""
        return len(self.articles)

    @property
    def expected_unique_story_count(self) -> int:
        """Distinct stories once the syndicated copy is folded into its twin."""
        return len(self.articles) - 1

    def url(self, path: str) -> str:
        return self.base_url + path

    def article(self, path: str) -> ArticleFact:
        return next(a for a in self.articles if a.path == path)

    def updated_routes(self) -> dict[str, tuple[str, bytes]]:
        """Routes whose bytes differ in version 2: the updated article and its feed."""
        later = build_sample_site(self.base_url, version=self.version + 1)
        return {
            path: route for path, route in later.routes.items() if self.routes.get(path) != route
        }


def build_sample_site(base_url: str, version: int = 1) -> SampleSite:
    """Build every page and feed with absolute links under base_url (no trailing slash).

    version=2 appends an "Update:" paragraph to the storm article, bumps its modified date and
    its Atom <updated>; nothing else changes, so conditional GETs on other URLs still 304.
    """
    base = base_url.rstrip("/")
    facts = _facts(version)
    routes: dict[str, tuple[str, bytes]] = {}
    for pub in PUBLISHERS:
        own = [f for f in facts if f.publisher == pub.name]
        for fact in own:
            routes[fact.path] = (HTML, render_article(fact, base, own).encode())
        routes[f"{pub.prefix}/"] = (HTML, _render_home(pub, base, own).encode())
        if pub.feed_kind == "rss":
            routes[pub.feed_path] = (RSS, _render_rss(pub, base, own).encode())
        elif pub.feed_kind == "atom":
            routes[pub.feed_path] = (ATOM, _render_atom(pub, base, own).encode())
        else:
            routes[pub.feed_path] = (RSS, _render_tracked_rss(pub, base, own).encode())
    herald = [f for f in facts if f.publisher == DAILY_HERALD.name]
    routes[BROKEN_FEED_PATH] = (RSS, _render_broken_feed(base, herald).encode())
    opml = _render_opml(base).encode()
    routes[OPML_PATH] = (OPML, opml)
    routes["/"] = (HTML, _render_root(base).encode())
    routes["/robots.txt"] = (TEXT, b"User-agent: *\nAllow: /\n")

    by_id = {f.post_id: f for f in facts}
    counts = {}
    for pub in PUBLISHERS:
        n = sum(1 for f in facts if f.publisher == pub.name)
        counts[pub.feed_path] = n + (1 if pub.feed_kind == "rss-tracked" else 0)
    return SampleSite(
        base_url=base,
        version=version,
        routes=routes,
        articles=tuple(facts),
        feed_paths=[p.feed_path for p in PUBLISHERS],
        broken_feed_path=BROKEN_FEED_PATH,
        opml_path=OPML_PATH,
        opml_bytes=opml,
        syndicated_story_paths=(by_id[105].path, by_id[205].path),
        updated_article_path=by_id[UPDATED_POST_ID].path,
        duplicate_listed_path=by_id[DUPLICATE_LISTED_POST_ID].path,
        tracked_feed_path=WIRE_REVIEW.feed_path,
        feed_entry_counts=counts,
    )
