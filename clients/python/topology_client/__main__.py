"""``python3 -m topology_client``: the command line (see ``topology_client.cli``)."""

import sys

from .cli import main

sys.exit(main())
