"""bench/RESULTS.md holds one section per benchmark; each benchmark rewrites only its own."""

import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(heading: str, section_text: str) -> None:
    """Replace the section that starts with ``heading`` (or append it), keeping everyone else's sections;
    the file is read right before writing, as other benchmarks write their sections too."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.M | re.S)
    body = section_text.rstrip("\n") + "\n\n"  # a blank line before the next section
    found = pattern.search(text)
    text = pattern.sub(lambda _: body, text) if found else text.rstrip("\n") + "\n\n" + body
    RESULTS.write_text(text.rstrip("\n") + "\n")
