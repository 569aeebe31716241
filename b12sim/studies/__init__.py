"""The model against published studies: a table of published results (:mod:`.table`), a runner that
reproduces each study's population, arms and outcome (:mod:`.runner`), and a report (:mod:`.report`);
``b12sim.validate`` and ``b12sim validate``."""

from b12sim.studies.validate import Validation, validate

__all__ = ["Validation", "validate"]
