"""How far a training job has got, as the training tells whoever follows it: the stages, and the
callback each step is reported to (from whichever thread runs it)."""

from __future__ import annotations

import enum
from collections.abc import Callable


class TrainingStage(enum.StrEnum):
    DECODING = "decoding"
    """The uploaded images, one by one."""
    FITTING = "fitting"
    """The model learns the good images (one step: `done` 0, then all)."""
    CALIBRATING = "calibrating"
    """Held-out good images and the defects are scored, one by one."""
    STORING = "storing"
    DONE = "done"
    FAILED = "failed"


Progress = Callable[[TrainingStage, int, int], None]
"""Told each step of a training job, from whichever thread does it."""
