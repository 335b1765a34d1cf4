"""The commands the README shows are ones main.py accepts, for environments and layers that exist."""
from __future__ import annotations

import re
import shlex

import pytest

import main
from stacks.layers import LAYERS
from tests.conftest import REPO_ROOT

COMMANDS = [
    shlex.split(line.split("#", 1)[0])[2:]
    for line in re.findall(r"^\.venv/bin/python main\.py.*$", (REPO_ROOT / "README.md").read_text(), re.M)
]


def test_the_readme_shows_main_py_commands():
    assert len(COMMANDS) >= 3, COMMANDS


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(argv) or "(no flags)" for argv in COMMANDS])
def test_readme_command_is_accepted(argv, configs):
    args = main.parse_args(argv)
    assert set(args.env) <= set(configs), args.env
    if args.stack:
        env, _, layer = args.stack.partition("-")
        assert env in configs and layer in LAYERS, args.stack
