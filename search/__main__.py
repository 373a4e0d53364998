"""``python -m search`` is ``python -m search.run``."""

import sys

from search.run import main

sys.exit(main())
