"""Run every benchmark in this folder, one after another (`make bench`).

Each benchmark script runs its subject beside its baseline in the same process and
prints ratios; this runner only finds them and runs them, so adding a benchmark is
adding a file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).resolve().parent
    scripts = sorted(p for p in here.glob("*.py") if not p.name.startswith("_"))
    if len(sys.argv) > 1:
        wanted = set(sys.argv[1:])
        scripts = [p for p in scripts if p.stem in wanted]
    failed = []
    for script in scripts:
        print(f"== {script.stem} ==", flush=True)
        rc = subprocess.call([sys.executable, str(script)], cwd=here.parent)
        if rc != 0:
            failed.append(script.stem)
    if failed:
        print("benchmarks that failed: " + ", ".join(failed), file=sys.stderr)
        return 1
    if not scripts:
        print("no benchmarks yet")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
