"""``validate()``: run the study table and hold the result with its report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from b12sim.defaults import DISCLAIMER, MAX_SEED, SEED
from b12sim.errors import InputError
from b12sim.studies import report, runner
from b12sim.studies.table import AREAS
from b12sim.validation import whole

OUTPUT_FILES = ("results.csv", "report.md", "forest.png")
MAX_DRAWS, MAX_PEOPLE = 1000, 5000


@dataclass(frozen=True)
class Validation:
    """The model against published studies: one row per published result (:data:`runner.RESULT_COLUMNS`)."""

    results: pd.DataFrame
    draws: int
    people: int
    seed: int

    @property
    def counts(self) -> dict[str, tuple[int, int]]:
        """``use`` (calibration / validation) -> (rows inside the model's 95% interval, rows)."""
        return report.counts(self.results)

    def table(self) -> pd.DataFrame:
        """The results as text: published value and interval, the model's median and 95% interval."""
        return report.table(self.results)

    def plot(self):
        """The forest plot (a matplotlib figure)."""
        return report.forest(self.results)

    def markdown(self) -> str:
        """The report as markdown."""
        return report.markdown(self.results, draws=self.draws, people=self.people, seed=self.seed)

    def save(self, folder, *, overwrite: bool = False) -> list[Path]:
        """Write :data:`OUTPUT_FILES` as the folder ``folder``, swapped in whole (:func:`b12sim.io.folder_writer`;
        an earlier set is replaced only with ``overwrite``)."""
        from b12sim.io import folder_writer, save_figure

        with folder_writer(folder, OUTPUT_FILES, overwrite=overwrite) as tmp:
            self.results.to_csv(tmp / "results.csv", index=False)
            (tmp / "report.md").write_text(self.markdown() + f"\n{DISCLAIMER}\n", encoding="utf-8")
            save_figure(self.plot(), tmp / "forest.png")
        return [Path(folder) / f for f in OUTPUT_FILES]

    def __repr__(self) -> str:
        return f"Validation({report.summary_line(self.results)}; {self.draws} draws, {self.people} people)"


def validate(only: str | None = None, *, studies=None, draws: int = runner.DRAWS, people: int = runner.PEOPLE,
             seed: int = SEED, progress: bool = False) -> Validation:
    """Run the model through every published study of the table (``studies``: CSV paths; default the shipped
    ``data/validation/`` tables), or those of the area ``only`` (one of :data:`~b12sim.studies.table.AREAS`)."""
    if only is not None and only not in AREAS:
        raise InputError("only", only, "one of " + ", ".join(AREAS))
    draws = whole("draws", draws, 2, MAX_DRAWS)
    people = whole("people", people, 10, MAX_PEOPLE)
    seed = whole("seed", seed, 0, MAX_SEED)
    res = runner.run(studies, only=only, draws=draws, people=people, seed=seed, progress=progress)
    return Validation(res, draws, people, seed)
