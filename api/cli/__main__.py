"""`python -m api.cli`: the scimgate command."""

import sys

from api.cli import main

sys.exit(main())
