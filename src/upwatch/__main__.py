"""`python -m upwatch` runs the same CLI as the `upwatch` console script."""

from upwatch.cli.main import main

main()
