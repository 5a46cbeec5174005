import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chorus_harness import ChorusServer  # noqa: E402


@pytest.fixture(scope="module")
def chorus():
    srv = ChorusServer().start()
    yield srv
    code = srv.stop()
    assert code == 0, f"chorus exited with {code} after SIGTERM (expected 0)\n{srv.output()}"
