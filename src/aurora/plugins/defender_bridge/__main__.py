"""``python -m aurora.plugins.defender_bridge``: run the Windows Defender bridge plugin."""

import sys

from aurora.plugins.defender_bridge.plugin import main

sys.exit(main())
