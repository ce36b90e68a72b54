"""``python -m two_way_sms_client.cli``: the same command as ``two-way-sms``."""

import sys

from two_way_sms_client.cli import main

sys.exit(main())
