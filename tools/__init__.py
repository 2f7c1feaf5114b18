"""Scripts for working on Roomrack, run from a source checkout (not installed with the
programs): `python -m tools.screenshots docs`, `python -m tools.operations_screenshots docs`,
`python -m tools.trust_screenshots docs` (the screenshots of docs/), `python -m
tools.make_icon` (resources/roomrack.png) and `python tools/layout_check.py` (the longest
files and functions)."""
