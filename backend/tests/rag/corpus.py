"""The test corpus: a PDF generated with PyMuPDF (one distinct fact per page), a TXT and an MD
file, and one question per fact with where its answer lives."""

from __future__ import annotations

from dataclasses import dataclass

import pymupdf

FILLER = (
    "This page belongs to the regional almanac compiled by the county archive. Entries are "
    "checked by two editors before publication and revised every spring."
)

PDF_FACTS = [
    "The lighthouse on Kelvar Island was built in 1874 by the engineer Mara Olsen.",
    "The Quartz Valley orchard grows a rare blue apple variety called Azurine.",
    "The city of Dornholm holds its annual glass-blowing festival every March.",
    "The research submarine Nautilus-7 reached a depth of 4,200 meters during its 1998 dive.",
    "Professor Ilse Varga discovered a new species of luminous beetle in the Trellan caves.",
    "The Velmont railway tunnel is 14 kilometers long and opened to trains in 1921.",
    "Chef Paolo Renzi is famous for his signature dish, saffron risotto with smoked eel.",
    "The telescope of the Arden Observatory has a primary mirror 3.5 meters in diameter.",
]

TXT = (
    "Annual report of the water board.\n\n"
    "The Brightwater dam supplies drinking water to two million residents of the northern "
    "province. Its reservoir was last expanded in 2009.\n"
)

MD = (
    "# Orbis Cloud handbook\n\nOrbis Cloud is a hosting service for small teams.\n\n"
    "## Support\n\nSupport answers tickets within one business day.\n\n"
    "## Pricing\n\n### Premium\n\nThe premium subscription of Orbis Cloud costs 49 euros per "
    "month and includes daily backups.\n"
)


@dataclass(frozen=True)
class Question:
    text: str
    filename: str
    page: int | None  # PDF page numbered from 1; None for text files


QUESTIONS = [
    Question("Who built the lighthouse on Kelvar Island, and when?", "almanac.pdf", 1),
    Question("Which apple variety is grown in the Quartz Valley orchard?", "almanac.pdf", 2),
    Question("In which month is the Dornholm glass festival held?", "almanac.pdf", 3),
    Question("How deep did the Nautilus-7 submarine go?", "almanac.pdf", 4),
    Question("Who found the glowing beetle in the Trellan caves?", "almanac.pdf", 5),
    Question("How long is the Velmont railway tunnel?", "almanac.pdf", 6),
    Question("What is Paolo Renzi's signature dish?", "almanac.pdf", 7),
    Question("How big is the mirror of the Arden Observatory telescope?", "almanac.pdf", 8),
    Question("How many people get drinking water from the Brightwater dam?", "water.txt", None),
    Question("How much does the Orbis Cloud premium plan cost per month?", "orbis.md", None),
]


def make_pdf(facts: list[str] = PDF_FACTS, filler: str = FILLER) -> bytes:
    """A PDF with one fact per page, surrounded by the same filler text on every page."""
    doc = pymupdf.open()
    for number, fact in enumerate(facts, start=1):
        page = doc.new_page()
        text = f"Almanac, page {number}.\n\n{filler}\n\n{fact}\n\n{filler}"
        page.insert_textbox(pymupdf.Rect(72, 72, 523, 770), text, fontsize=11)
    data = doc.tobytes()
    doc.close()
    return data


def corpus_files() -> list[tuple[str, bytes, str]]:
    """(filename, bytes, content type) of the three documents."""
    return [
        ("almanac.pdf", make_pdf(), "application/pdf"),
        ("water.txt", TXT.encode(), "text/plain"),
        ("orbis.md", MD.encode(), "text/markdown"),
    ]
