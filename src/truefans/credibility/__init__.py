"""Who is following: fake-follower scores with reasons, the fake share of an audience, relevance.

- :mod:`.rules` the transparent rule score (named reasons, calibrated weights);
- :mod:`.model` the trained model for followers with profile counts;
- :mod:`.prevalence` the fake share of an audience, corrected for the scorer's error rates
  (median sweep over every cut-off of the score, or Rogan–Gladen at one band);
- :mod:`.relevance` matching people against a profile file (customers, or a job seeker's targets);
- :mod:`.behaviour` follow-time bursts and never-engaged followers from a workspace's own data.
"""

from __future__ import annotations

from .features import PROFILE_COLUMNS, Prepared, prepare, prepare_features
from .rules import BANDS, RULES, RuleScore

__all__ = [
    "BANDS",
    "PROFILE_COLUMNS",
    "RULES",
    "Prepared",
    "RuleScore",
    "prepare",
    "prepare_features",
]
