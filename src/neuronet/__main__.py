"""`python -m neuronet ...` runs the command line."""

from neuronet.cli import main

main()
