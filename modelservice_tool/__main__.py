"""`python -m modelservice_tool` runs the `mst` command line."""

from .commands import main

main()
