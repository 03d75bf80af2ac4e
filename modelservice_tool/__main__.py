"""`python -m modelservice_tool` runs the `mst` command line."""

from .cli import main

main()
