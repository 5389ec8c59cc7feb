"""Jobs: long work queued by a request and run by workers, shared by the hub and the node.

- `yunfab.jobs.queue`: which job to run next (in this process, or a JetStream work queue);
- `yunfab.jobs.models`: the columns every job row has (each app keeps its own `jobs` table);
- `yunfab.jobs.repository` and `yunfab.jobs.service`: making, claiming and finishing rows;
- `yunfab.jobs.runner`: one delivery of a job, run by its kind's handler, one outcome kept;
- `yunfab.jobs.sweeper`: jobs whose queue message was lost, queued again;
- `yunfab.jobs.events`: a job's change, told once committed (an app's `jobProgress`);
- `yunfab.jobs.graphql`: the `Job` type's fields.

The queue's names are re-exported here, where the apps have always imported them from.
"""

from __future__ import annotations

from yunfab.jobs.queue import WORKERS, Handler, InProcessJobs, JobFailed, JobTicket, NatsJobs

__all__ = ["WORKERS", "Handler", "InProcessJobs", "JobFailed", "JobTicket", "NatsJobs"]
