import subprocess
import sys

import pytest

from seedvr.errors import InputError
from seedvr.restorer import derive_seed


def test_seed_is_stable_across_processes():
    code = "from seedvr.restorer.seeding import derive_seed; print(derive_seed('vid-ä', 3, 42))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(other.stdout.strip()) == derive_seed("vid-ä", 3, 42)


def test_seed_range_and_sensitivity():
    seeds = {derive_seed(v, i, s) for v in ("a", "b") for i in range(5) for s in (0, 1)}
    assert len(seeds) == 20
    assert all(0 <= s < 2**63 for s in seeds)
    # Separators keep ("a1", 2) apart from ("a", 12).
    assert derive_seed("a1", 2, 0) != derive_seed("a", 12, 0)


@pytest.mark.parametrize("args", [(1, 0, 0), ("v", -1, 0), ("v", 0, "7"), ("v", True, 0)])
def test_bad_arguments(args):
    with pytest.raises(InputError):
        derive_seed(*args)
