"""What a training job can be doing: its status (the outcome) and its phase (the step it is on).

One source for these words: the engine writes them into the run store, the pages read them
back and look up their texts under `status.<value>` and `phase.<value>` in the catalogues.

    >>> Status("running") in ACTIVE, Status.FINISHED.settles
    (True, True)
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    QUEUED = "queued"  # waiting for a worker (or for the previous run of its group)
    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"  # by the learner, a closed tab, or cancelled while queued
    DIVERGED = "diverged"  # the loss blew up: training was ended
    FAILED = "failed"  # could not run, or its worker was lost

    @property
    def settles(self) -> bool:
        """True once nothing more will happen to the job's training."""
        return self not in ACTIVE


ACTIVE = frozenset({Status.QUEUED, Status.RUNNING})
#: A run worth keeping in the run store's list: it trained (some epochs) or it told us why it could not.
KEPT = frozenset({Status.FINISHED, Status.STOPPED, Status.DIVERGED})


class Phase(StrEnum):
    QUEUED = "queued"
    LOADING = "loading_data"
    FEATURES = "computing_features"  # transfer learning: the frozen base runs once over the images
    BUILDING = "building_model"
    TRAINING = "training"
    EVALUATING = "evaluating"
    DONE = "done"
