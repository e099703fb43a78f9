"""Run each benchmark task in its own process, so that its peak memory is its own."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

PEAK_RSS = """
def peak_mb():
    # VmHWM: this process's own high-water mark (ru_maxrss would carry the parent's over
    # fork and exec, so a big parent would inflate it)
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""
"""Source of ``peak_mb()``, a process's own peak resident memory in MiB."""

PRELUDE = f"""
import json, sys, time
sys.path.insert(0, {str(ROOT)!r})
{PEAK_RSS}
def done(**kw):
    kw["peak_mb"] = peak_mb()
    print(json.dumps(kw))
"""


def run_task(name: str, body: str, values: dict[str, Any]) -> dict[str, Any]:
    """Run ``body`` (which calls ``done(...)``) with ``values`` bound as globals."""
    code = PRELUDE + "\n".join(f"{k} = {v!r}" for k, v in values.items()) + "\n"
    code += textwrap.dedent(body)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def print_row(name: str, r: dict[str, Any], extra: str = "") -> None:
    """One row of a benchmark table."""
    print(f"| {name:<52} | {r['seconds']:>9.3f} | {r['peak_mb']:>8.0f} | {extra:<40} |",
          flush=True)


def print_header(title: str) -> None:
    """A table header."""
    print(f"\n{title}\n")
    print(f"| {'task':<52} | {'seconds':>9} | {'peak MB':>8} | {'result':<40} |")
    print(f"|{'-' * 54}|{'-' * 11}|{'-' * 10}|{'-' * 42}|")
