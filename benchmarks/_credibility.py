"""Shared helpers of the credibility benchmarks: the labelled sets and the CV protocol."""

from __future__ import annotations

import os
from pathlib import Path

from truefans.credibility.labelled import Labelled, load_all

DATA = Path(os.environ.get("TRUEFANS_CREDIBILITY_DATA", "/work/shared/data/credibility"))
SEED = 0
FOLDS, REPEATS = 5, 5


def sets() -> dict[str, Labelled]:
    return load_all(DATA)
