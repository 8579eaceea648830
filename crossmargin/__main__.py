"""`python -m crossmargin` runs the CLI."""

from crossmargin.cli import main

main()
