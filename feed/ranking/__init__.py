"""The For You feed: candidates gathered on read from a few bounded sources, scored, spread out so no
author floods a page, and kept as a ranked snapshot per viewer so its cursor stays stable. See
docs/ARCHITECTURE.md, "For You"."""
