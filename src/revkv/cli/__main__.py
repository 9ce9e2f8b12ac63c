"""`python -m revkv.cli`: the revkv command."""

from revkv.cli._main import main

main()
