"""``python -m flowsynth`` is the same as the ``flowsynth`` command."""

from flowsynth.cli.main import main

raise SystemExit(main())
