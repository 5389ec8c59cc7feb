from __future__ import annotations

from yunfab.errors import NotFound


class JobNotFound(NotFound):
    code = "job_not_found"
