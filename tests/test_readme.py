"""The README's two commands stay true: they come first, and CI runs the test command word for word."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_opens_with_launch_and_test_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, flags=re.DOTALL)
    launch, tests = blocks[0].strip(), blocks[1].strip()
    assert launch.endswith("desktop-auth"), launch
    assert launch.startswith("python3 -m venv .venv")
    assert tests.startswith("python3 -m venv .venv")
    assert "pytest" in tests
    assert tests in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert readme.index(launch) < readme.index("## ")
