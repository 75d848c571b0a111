"""The README's command-line examples run as written: each line of the block after ``<!-- cli -->`` runs in
bash from the repository root (with ``/tmp/`` moved into the test's folder and ``.venv/bin/python`` being
this interpreter), exits 0, and writes the files it names."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text()
    block = re.search(r"<!-- cli -->\s*```bash\n(.*?)```", text, re.DOTALL)
    assert block is not None, "README.md has no <!-- cli --> bash block"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_the_readme_names_only_valid_handles() -> None:
    from ml.scene import HANDLE_RE, mention_tokens

    for command in readme_commands():
        for _, word in mention_tokens(command):
            assert HANDLE_RE.fullmatch(word), f"@{word} in the README is not a valid handle"


def test_every_cli_command_in_the_readme_runs(tmp_path: Path) -> None:
    commands = readme_commands()
    assert any("ml.generate" in command for command in commands)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    for command in commands:
        runnable = command.replace("/tmp/", f"{tmp_path}/").replace(".venv/bin/python", sys.executable)
        done = subprocess.run(
            ["bash", "-c", runnable], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"{command}\n{done.stderr[-2000:]}"
        for output in re.findall(r"-o (\S+)", runnable):
            assert Path(output).is_file() and Path(output).with_suffix(".jpg").is_file()
            assert "rendered as:" in done.stdout
