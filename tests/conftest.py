"""Shared test helpers."""

import pytest

from b12sim.cli import main


@pytest.fixture
def cli(capsys):
    """Run the CLI in process: ``cli(*args)`` -> (status, stdout, stderr); argparse exits count as status."""
    def run(*args):
        try:
            status = main([str(a) for a in args])
        except SystemExit as e:
            status = e.code
        out, err = capsys.readouterr()
        return status, out, err

    return run


def refused(status, err, *words):
    """Assert a CLI refusal: exit 2, one ``error:`` line holding ``words``, no traceback; return the line."""
    assert status == 2, (status, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]
