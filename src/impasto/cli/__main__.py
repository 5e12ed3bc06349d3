"""``python -m impasto.cli``: the same as the ``impasto`` command."""

import sys

from . import main

sys.exit(main())
