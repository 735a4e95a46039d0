"""``python -m aurora.plugins.authbridge``: run the authentication bridge plugin."""

import sys

from aurora.plugins.authbridge.plugin import main

sys.exit(main())
