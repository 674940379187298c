"""``python -m flowsynth`` is the same as the ``flowsynth`` command."""

from flowsynth.cli import main

raise SystemExit(main())
