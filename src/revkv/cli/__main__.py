"""`python -m revkv.cli`: the revkv command."""

from revkv.cli import main

main()
