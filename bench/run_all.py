"""Run every benchmark; exit non-zero when any target is missed.

python bench/run_all.py            # full sizes (a million users; takes a while)
python bench/run_all.py --quick    # every benchmark at a small size, in a few minutes
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    "startup.py",
    "quit.py",
    "signin_overhead.py",
    "responsiveness.py",
    "role_editor_scale.py",
    "bulk_role_change.py",
    "import_users.py",
    "many_clients.py",
]


def main(argv: list[str]) -> int:
    extra = [arg for arg in argv if arg == "--quick"]
    results: list[tuple[str, int, float]] = []
    for script in SCRIPTS:
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(HERE / script), *extra], cwd=HERE)
        results.append((script, code, time.perf_counter() - started))
    print("\n## Summary\n")
    for script, code, seconds in results:
        print(
            f"{script:<24} {'ok' if code == 0 else 'MISSED' if code == 1 else f'FAILED ({code})':<12} {seconds:6.0f} s"
        )
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
