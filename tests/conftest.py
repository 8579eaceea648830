"""Suite-wide settings. Hypothesis runs derandomized by default, so `make test` checks the same examples on
every run and a CI result is reproducible; `HYPOTHESIS_PROFILE=explore` draws fresh examples (exploration at
scale is `crossmargin fuzz`'s job)."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
