"""Makes the runtime domain package (``lambda/two_way_sms``) importable from the CDK app.

``lambda`` is a Python keyword, so the package is reached by path: the synth-time
validation uses the very rules the handlers run, never a second copy.
"""

import sys
from pathlib import Path

LAMBDA_DIR = Path(__file__).resolve().parents[1] / "lambda"

if str(LAMBDA_DIR) not in sys.path:
    sys.path.append(str(LAMBDA_DIR))
