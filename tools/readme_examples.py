"""Re-run the ``b12sim`` commands shown in README.md's console blocks and put their real output back.

``python tools/readme_examples.py [--check] [README.md]`` runs each block's ``$ b12sim ...``
command (continuation lines joined) in a scratch folder and replaces the lines after it;
with ``--check`` it writes nothing and exits 1 listing the blocks whose output changed. A block that
ends in ``...`` keeps the output up to the first line that starts like the excerpt's last
line, and the ``...``. Review the diff before committing.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

BLOCK = re.compile(r"```console\n(.*?)```", re.S)


def run(command: str, cwd: str) -> list[str]:
    """The output lines (stdout) of one shell command; a failing command stops the tool."""
    res = subprocess.run(shlex.split(command), cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"command failed ({res.returncode}): {command}\n{res.stderr}")
    return [line.rstrip() for line in res.stdout.rstrip("\n").splitlines()]


def refresh(block: str, cwd: str) -> str:
    """One console block with its output replaced."""
    lines = block.rstrip("\n").splitlines()
    n_cmd = 1
    while lines[n_cmd - 1].endswith("\\"):
        n_cmd += 1
    command = " ".join(line.rstrip("\\").strip() for line in lines[:n_cmd]).removeprefix("$ ")
    old = lines[n_cmd:]
    new = run(command, cwd)
    if old and old[-1] == "..." and len(old) > 1:  # cut after the line the old excerpt ended with
        word = old[-2].split()[0]
        ends = [k for k, line in enumerate(new) if line.split()[:1] == [word]]
        new = new[:(ends[0] if ends else len(old) - 2) + 1] + ["..."]
    return "\n".join(lines[:n_cmd] + new) + "\n"


def main(args: list[str]) -> int:
    check = "--check" in args
    path = Path(next((a for a in args if a != "--check"), "README.md"))
    text = path.read_text()
    with tempfile.TemporaryDirectory() as cwd:
        blocks = [(m, refresh(m.group(1), cwd)) for m in BLOCK.finditer(text)]
    changed = [m for m, new in blocks if new != m.group(1)]
    if check:
        for m in changed:
            print(f"output changed: {m.group(1).splitlines()[0]}")
        return 1 if changed else 0
    for m, new in reversed(blocks):  # from the end, so earlier offsets stay valid
        text = text[:m.start(1)] + new + text[m.end(1):]
    path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
