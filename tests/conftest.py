"""Puts the function code (``lambda/``) and the repository root on the import path.

``lambda`` is a Python keyword, so nothing imports ``lambda.x``: tests import the domain
package and the handlers the way the Lambda runtime sees them, from ``lambda/``.
"""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
LAMBDA_DIR = REPO_ROOT / "lambda"

for path in (REPO_ROOT, LAMBDA_DIR):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
