"""The README's two commands exist, and CI runs the test command verbatim."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands():
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [line for block in blocks for line in block.splitlines() if line and line[0] != "#"]


def test_readme_has_a_start_and_a_test_command():
    commands = readme_commands()
    assert any("pip install" in c and "flask --app gallery run" in c for c in commands)
    assert any("'.[test]'" in c and "pytest" in c for c in commands)


def test_ci_runs_the_readme_test_command():
    test_command = next(c for c in readme_commands() if "pytest" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_readme_documents_every_setting_and_command():
    from gallery.cli import gallery
    from gallery.config import DEFAULTS

    readme = (ROOT / "README.md").read_text()
    for name in DEFAULTS:
        assert f"GALLERY_{name}" in readme, name
    for name in gallery.commands:
        assert f"`{name}" in readme, name


def test_readme_layout_names_every_module():
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("## How the code is laid out", 1)[1].split("\n## ", 1)[0]
    package = ROOT / "gallery"
    modules = [f"`{p.name}`" for p in package.glob("*.py")]
    modules += [f"`{p.name}/`" for p in package.iterdir() if (p / "__init__.py").exists()]
    missing = [name for name in sorted(modules) if name not in layout]
    assert not missing, f"README's layout section misses {missing}"


def test_ci_runs_the_slow_tests_on_both_engines():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    slow = [line for line in ci if line.startswith("run_suite") and "pytest -m slow" in line]
    assert len(slow) == 2 and sum("GALLERY_TEST_POSTGRES_URL" in line for line in slow) == 1
    assert "pytest -m slow" in (ROOT / "README.md").read_text()
