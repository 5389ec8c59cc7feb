"""A job's progress as an event: published once each change of its row is committed (taken by
a worker, queued for another try, succeeded, failed), so that whoever follows the job hears
of it on any replica (the app's broadcaster goes over NATS when scaled out). The event names
the job only: a follower reads the row, under its own right to, to learn the rest."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class JobChanged:
    job_id: uuid.UUID
    status: str
    attempts: int
