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
