"""`python -m modelservice_tool` runs the `mst` command line."""

from .launch import main

main()
