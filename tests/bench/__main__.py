"""Run every benchmark module in this folder, one process each, and stop at the first failure."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    for module in sorted(HERE.glob("bench_*.py")):
        print(f"\n=== {module.stem} ===", flush=True)
        result = subprocess.run([sys.executable, "-m", f"tests.bench.{module.stem}"])
        if result.returncode != 0:
            return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
