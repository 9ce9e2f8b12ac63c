"""`python -m revkv.cli`: the revkv command."""

from revkv.cli.main import main

main()
