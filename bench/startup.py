"""Start-up time of the command line: `neuronet --help`, `neuronet info RUN`, `import neuronet`.

Reference: a bare Python interpreter (`python -c pass`) in the same run; `import torch` is shown
as what the lazy imports avoid. Each command runs in a fresh process, best of N.
Run: python bench/startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import print_table, write_json


def timed(args: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    exe = str(Path(sys.executable).parent / "neuronet")
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([exe, "train", "--set", "model.type=mlp", "--set", "train.epochs=1", "--output-dir", out,
                        "--name", "r", "-q"], check=True, capture_output=True)
        commands = {
            "python -c pass (reference)": [sys.executable, "-c", "pass"],
            "import neuronet": [sys.executable, "-c", "import neuronet"],
            "neuronet --help": [exe, "--help"],
            "neuronet info RUN": [exe, "info", f"{out}/r"],
            "import torch (avoided)": [sys.executable, "-c", "import torch"],
        }
        seconds = {name: timed(cmd, args.repeats) for name, cmd in commands.items()}
    ref = seconds["python -c pass (reference)"]
    rows = [[name, f"{s:.3f}", f"{s / ref:.1f}x"] for name, s in seconds.items()]
    print_table(f"start-up, seconds (best of {args.repeats}, fresh process each)", ["command", "s", "vs python"], rows)
    write_json("startup", {"repeats": args.repeats, "seconds": seconds})


if __name__ == "__main__":
    main()
