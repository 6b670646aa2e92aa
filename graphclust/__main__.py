"""``python -m graphclust`` (and ``torchrun -m graphclust``) is the ``graphclust`` command."""

import sys

from graphclust.cli import main

sys.exit(main())
