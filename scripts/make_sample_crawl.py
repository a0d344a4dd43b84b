"""Build samples/crawl/: the small sample crawl the README's first command runs on (issue 25).

Everything in it may be redistributed: held-out OpenStax textbook sections (CC BY 4.0, rendered as web
pages with a site header and footer), pages written by this script from templates (low and middling
quality web text: shop listings, forum threads, keyword-stuffed pages, link farms, diary posts; no third-party
text), and Common Crawl's one-page whirlwind WARC/WET (an Aragonese Wikipedia page, CC BY-SA). Three
formats, as a crawl delivers them: WARC (HTML responses), WET (extracted text) and Dolma-style JSONL.

Deterministic: the same inputs give the same files byte for byte (fixed dates, seeded choices, gzip
without timestamps). Run from the repository root with ../shared beside it:

    .venv/bin/python -m scripts.make_sample_crawl
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import io
import json
import random
import shutil
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from classifiers.shipped import is_heldout
from scripts.build_default_model import openstax_sections

OUT = Path("samples/crawl")
WHIRLWIND = Path("../shared/data/commoncrawl-whirlwind")
DATE = "2026-11-30T12:00:00Z"
SITES = ["learn-more.example.org", "study-notes.example.net", "open-textbook.example.com"]

PRODUCTS = [
    "wireless earbuds",
    "garden hose",
    "phone case",
    "office chair",
    "protein powder",
    "led strip",
    "yoga mat",
    "coffee grinder",
    "car charger",
    "rain jacket",
    "dog leash",
    "water bottle",
]
ADJECTIVES = ["cheap", "best", "top rated", "premium", "discount", "original", "new", "hot", "limited"]
PLACES = ["London", "Texas", "Sydney", "Toronto", "Ohio", "Dublin", "Florida", "Manchester", "Denver"]
NAMES = ["mike77", "sarah_k", "dave", "jenny", "bigtom", "lucy_b", "markus", "ana", "chris_p", "kev"]
FILLER = [
    "Thanks for sharing this, really helpful.",
    "I had the same problem last week and it was so annoying.",
    "Does anyone know if this still works in the new version?",
    "Great post, keep it up!",
    "Not sure about that, my friend said it is different now.",
    "Just bought one and it arrived yesterday.",
    "Lol that happened to me too.",
    "Can you send me the link please?",
    "Same here, still waiting for a reply.",
    "I think it depends on where you live to be honest.",
    "Anyone tried the other one, is it better?",
    "Bump, still looking for an answer on this.",
    "Worked for me after I restarted it twice.",
]
DIARY = [
    "Today was a long day and I did not do much.",
    "We went to the shop and then came back home.",
    "The weather was okay but a bit cold in the morning.",
    "I watched a few episodes of my show tonight.",
    "My sister called and we talked for an hour about nothing really.",
    "Lunch was pasta again, it was fine.",
    "I need to clean the kitchen this weekend, it is a mess.",
    "The bus was late so I walked most of the way.",
    "I am thinking about buying new shoes but they are expensive.",
    "Tomorrow I will try to get up earlier.",
    "Work was busy and my boss was in a bad mood.",
    "I forgot my keys again and had to wait outside.",
]


SUBJECTS = [
    "I",
    "We",
    "My friend",
    "The kids",
    "My boss",
    "Our neighbour",
    "My brother",
    "Everyone at work",
    "The guy at the shop",
    "My mum",
    "Half the team",
    "Nobody",
    "My cousin",
    "The landlord",
    "Tom",
]
VERBS = [
    "went to",
    "complained about",
    "forgot about",
    "talked about",
    "looked at",
    "paid for",
    "waited for",
    "laughed at",
    "argued about",
    "cleaned up",
    "asked about",
    "gave up on",
    "ended up at",
    "got stuck with",
]
OBJECTS = [
    "the new phone",
    "the parking again",
    "the broken heater",
    "a cheap pizza",
    "the late bus",
    "the football match",
    "the noisy party next door",
    "my old laptop",
    "the price of petrol",
    "the gym",
    "a weird email",
    "the long queue",
    "the leaking tap",
    "some random video",
    "the weekend plans",
    "the internet bill",
    "a birthday present",
    "the cat next door",
    "the new series",
    "the sale",
]
WHEN = [
    "yesterday",
    "this morning",
    "after work",
    "last night",
    "on Sunday",
    "for ages",
    "in the rain",
    "before lunch",
    "around midnight",
    "all week",
    "again today",
    "at the weekend",
    "twice",
    "as usual",
]
ENDINGS = [".", ".", ".", "!", " lol.", ", honestly.", ", whatever.", " and that was it.", ", typical."]


def chatter(rng: random.Random, sentences: int) -> str:
    """Casual, rambling text: grammatical and varied enough for L1's repetition rules, thin in content."""
    return " ".join(
        f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(WHEN)}{rng.choice(ENDINGS)}"
        for _ in range(sentences)
    )


def shop_page(rng: random.Random) -> str:
    lines = [f"{rng.choice(ADJECTIVES).title()} {rng.choice(PRODUCTS).title()} | Free Shipping | Shop Now"]
    for _ in range(rng.randint(12, 25)):
        product = f"{rng.choice(ADJECTIVES)} {rng.choice(PRODUCTS)}"
        lines.append(f"{product.title()} - ${rng.randint(3, 199)}.{rng.randint(0, 99):02d} - Add to cart")
        lines.append(f"Buy {product} online, {rng.choice(ADJECTIVES)} price, fast delivery to {rng.choice(PLACES)}.")
    lines.append("Home | About | Contact | Privacy | Terms | Cart (0)")
    return "\n".join(lines)


def keyword_page(rng: random.Random) -> str:
    product, place = rng.choice(PRODUCTS), rng.choice(PLACES)
    sentences = []
    for _ in range(rng.randint(18, 30)):
        adjective = rng.choice(ADJECTIVES)
        sentences.append(
            rng.choice(
                [
                    f"Looking for the {adjective} {product} in {place}? We have the {adjective} {product} for you.",
                    f"Our {product} is the {adjective} {product} you can buy in {place} today.",
                    f"Order your {adjective} {product} now and get the {adjective} deal on {product} in {place}.",
                    f"Many people in {place} search for {adjective} {product} and {product} reviews every day.",
                    f"Click here to see why our {product} is the number one {product} in {place}.",
                ]
            )
        )
    return f"{adjective.title()} {product.title()} {place}\n\n" + " ".join(sentences)


def forum_page(rng: random.Random) -> str:
    topic = f"{rng.choice(PRODUCTS)} stopped working?"
    posts = [f"Thread: {topic}"]
    for day in range(rng.randint(8, 16)):
        posts.append(f"{rng.choice(NAMES)} wrote on {day % 28 + 1:02d}/0{rng.randint(1, 9)}/2026:")
        posts.append(f"{rng.choice(FILLER)} {chatter(rng, rng.randint(2, 5))}")
    posts.append("Reply | Quote | Report | Back to top")
    return "\n".join(posts)


def link_farm(rng: random.Random) -> str:
    lines = ["Useful links and resources"]
    for _ in range(rng.randint(20, 40)):
        product, place = rng.choice(PRODUCTS), rng.choice(PLACES)
        lines.append(f"{rng.choice(ADJECTIVES).title()} {product} {place} >> click here")
    return "\n".join(lines)


def diary_page(rng: random.Random) -> str:
    paragraphs = [f"{rng.choice(DIARY)} {chatter(rng, rng.randint(5, 9))}" for _ in range(rng.randint(3, 6))]
    return f"My week, part {rng.randint(2, 40)}\n\n" + "\n\n".join(paragraphs) + "\n\nPosted by " + rng.choice(NAMES)


GENERATORS = [shop_page, keyword_page, forum_page, link_farm, diary_page, forum_page, diary_page]


def page_html(title: str, body: str, site: str) -> str:
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in body.split("\n\n") if p.strip())
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f'<body><nav><a href="/">Home</a> <a href="/books">Books</a> <a href="/about">About</a></nav>'
        f"<main><article><h1>{html.escape(title)}</h1>\n{paragraphs}\n</article></main>"
        f"<footer>Text from OpenStax, licensed CC BY 4.0. {html.escape(site)}</footer></body></html>"
    )


def _gzip_bytes(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as handle:
        handle.write(data)
    return buffer.getvalue()


def _record_id(key: str) -> str:
    return f"<urn:uuid:{hashlib.sha256(key.encode()).hexdigest()[:32]}>"


def write_warc(path: Path, pages: list[tuple[str, str, str]]) -> None:
    """HTML responses: (url, title, html)."""
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for url, _, body in pages:
            payload = body.encode("utf-8")
            http = StatusAndHeaders(
                "200 OK",
                [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(payload)))],
                protocol="HTTP/1.1",
            )
            headers = {"WARC-Date": DATE, "WARC-Record-ID": _record_id(url)}
            record = writer.create_warc_record(
                url, "response", payload=io.BytesIO(payload), http_headers=http, warc_headers_dict=headers
            )
            writer.write_record(record)


def write_wet(path: Path, docs: list[tuple[str, str]]) -> None:
    """WET conversion records: (url, text)."""
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for url, text in docs:
            payload = text.encode("utf-8")
            headers = {"WARC-Date": DATE, "WARC-Record-ID": _record_id("wet" + url), "Content-Type": "text/plain"}
            record = writer.create_warc_record(
                url, "conversion", payload=io.BytesIO(payload), warc_headers_dict=headers, length=len(payload)
            )
            writer.write_record(record)


def write_jsonl(path: Path, docs: list[tuple[str, str, str]]) -> None:
    """Dolma-style records: (id, url, text)."""
    lines = [
        json.dumps(
            {"id": doc_id, "text": text, "source": "tiers-sample", "created": DATE, "metadata": {"url": url}},
            ensure_ascii=False,
        )
        for doc_id, url, text in docs
    ]
    path.write_bytes(_gzip_bytes(("\n".join(lines) + "\n").encode("utf-8")))


def build(openstax: Path, out: Path) -> dict[str, int]:
    rng = random.Random(25)
    sections = [s for s in openstax_sections(openstax) if is_heldout(s["id"])]
    rng.shuffle(sections)
    textbook = sections[:60]
    generated = [GENERATORS[i % len(GENERATORS)](rng) for i in range(90)]
    out.mkdir(parents=True, exist_ok=True)
    warc_pages = []
    for i, section in enumerate(textbook[:25]):
        site = SITES[i % len(SITES)]
        warc_pages.append(
            (f"https://{site}/{section['id']}", section["title"], page_html(section["title"], section["text"], site))
        )
    write_warc(out / "textbook-pages.warc.gz", warc_pages)
    wet = [(f"https://{SITES[i % 3]}/{s['id']}", s["text"]) for i, s in enumerate(textbook[25:40])]
    wet += [(f"http://shop{i}.example.com/page", text) for i, text in enumerate(generated[:45])]
    write_wet(out / "mixed-pages.warc.wet.gz", wet)
    jsonl = [(f"sample-{i}", f"https://{SITES[i % 3]}/{s['id']}", s["text"]) for i, s in enumerate(textbook[40:])]
    jsonl += [(f"generated-{i}", f"http://site{i}.example.net/", t) for i, t in enumerate(generated[45:])]
    write_jsonl(out / "mixed-docs.jsonl.gz", jsonl)
    for name in ("whirlwind.warc.gz", "whirlwind.warc.wet.gz"):
        shutil.copyfile(WHIRLWIND / name, out / name)
    return {"textbook": len(textbook), "generated": len(generated), "whirlwind": 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--openstax", type=Path, default=Path("../shared/data/openstax/sections.jsonl.gz"))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    print(json.dumps(build(args.openstax, args.out)))


if __name__ == "__main__":
    main()
