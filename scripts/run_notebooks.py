"""Execute notebooks/*.ipynb with papermill into book/, one subprocess each.

    python scripts/run_notebooks.py --params quick            # all notebooks
    python scripts/run_notebooks.py --params full 01_score    # one notebook

Parameters come from params/<set>/<notebook stem>.yaml. A notebook that fails or
runs past --timeout makes the script exit non-zero.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook stems (default: all)")
    parser.add_argument("--params", default="quick", help="parameter set: quick or full")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per notebook")
    args = parser.parse_args()

    sources = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if args.names:
        sources = [s for s in sources if s.stem in args.names]
        if not sources:
            parser.error(f"no notebook named {args.names}")
    (ROOT / "book").mkdir(exist_ok=True)
    failed = []
    for src in sources:
        dst = ROOT / "book" / src.name
        cmd = [sys.executable, "-m", "papermill", str(src), str(dst),
               "--cwd", str(ROOT / "notebooks"), "--kernel", "python3",
               "--log-level", "WARNING"]
        params = ROOT / "params" / args.params / f"{src.stem}.yaml"
        if params.exists():
            cmd += ["-f", str(params)]
        start = time.perf_counter()
        try:
            code = subprocess.run(cmd, timeout=args.timeout).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
        elapsed = time.perf_counter() - start
        sys.stderr.write(f"{src.name}: {'ok' if code == 0 else 'FAILED'} ({elapsed:.0f} s)\n")
        if code != 0:
            failed.append(src.name)
    if failed:
        sys.stderr.write(f"failed: {failed}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
