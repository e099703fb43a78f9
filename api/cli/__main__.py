"""``python -m api.cli``: the ``hotspot`` command."""

from api.cli import main

main()
