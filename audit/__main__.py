"""``python -m audit`` is the same as the ``rai-audit`` command."""

from audit.cli import main

main()
