"""Every `st.session_state` key of the app, named once.

Streamlit keeps a browser tab's state under string keys; a key written in two files drifts
(one spelled "job_id", the other "jobid"). Pages and ui/ modules use these names, never the strings.
"""

from __future__ import annotations

OWNER = "owner"  # the learner's token (also in the URL as ?u=)
LANG = "lang"  # "en" | "ja" (also in the URL as ?lang=)
SPEC = "spec"  # the ExperimentSpec being edited
JOB = "job_id"  # the job the Train page shows
START_ERROR = "start_error"  # a Msg: why the last Train press was refused
GO_TO = "go_to"  # a page a button sends the learner to (app.py switches to it)
CLASSROOM = "classroom"  # an instructor's locked and hidden controls
ROOM = "room"  # this tab's workshop room: {"id", "key"} (the key only in the instructor's tab)
BOARD_ERROR = "board_error"  # a Msg: why the last room action was refused
BOARD_CHOICES = "board_choices"  # the pinned runs the instructor picked as "which will win?" choices
BOARD_DELETED = "board_deleted"  # the instructor just deleted the room (the board says so once)
ROOM_TITLE = "room_title"  # the sidebar's new-room fields
ROOM_DEADLINE = "room_deadline"
JOIN_NAME = "room_join_name"  # the display name a learner types to join a room
FIGURES = "figure_cache"  # figures built for an epoch, reused until the next one
DATA_KIND_BEFORE = "data_kind_before"  # the Data page: did the dataset's kind change?
ADD_LAYER_TYPE = "add_layer_type"  # the layer editor's type picker
AUGMENT_SEED = "augment_seed"  # the studio's Reroll
TRANSFER_ENABLED = "transfer_enabled"
CLASSIFY_MODEL = "classify_model"
CLASSIFY_UPLOAD = "classify_own_upload"  # (digest, OwnModel) of the uploaded model
CLASSIFY_PREPROCESS = "classify_preprocess"
COMPARISON = "comparison"  # the comparison group the Compare page shows
COMPARISON_PICKER = "cmp.shown"  # its picker (follows COMPARISON when a comparison starts elsewhere)
GUESS_SCORE = "guess_score"  # (right, rounds) of predict-then-reveal
WIDGET_PREFIX = "w."  # widgets bound to the spec; all cleared when the spec is replaced


def guess(group: str) -> str:
    """The recipe a learner bet on for a group (predict-then-reveal)."""
    return f"guess_{group}"


def guess_since(group: str) -> str:
    """When the guessed round started (its runs are the ones created after)."""
    return f"guess_since_{group}"


def guess_scored(group: str, since: float) -> str:
    return f"guess_scored_{group}_{since}"


def predict_index(run_id: str) -> str:
    """Which test sample "predict one" shows for a run."""
    return f"predict.{run_id}"


def rename(run_id: str) -> str:
    """The Runs page's name field of one run."""
    return f"rename.{run_id}"


def bound(part: str, attr: str) -> str:
    """The key of the widget bound to one spec field, e.g. `bound("FitSpec", "epochs")`."""
    return f"{WIDGET_PREFIX}{part}.{attr}"


def member_name(owner: str) -> str:
    """The board's name field of one learner (the instructor renames them)."""
    return f"member_name.{owner}"


def room_goal(lang: str) -> str:
    """The new room's goal picker (its options are translated labels: one key per language)."""
    return f"room_goal_{lang}"


def controls(prefix: str, what: str, lang: str) -> str:
    """The lock or hide picker of a classroom link (`share`) or a new room (`room`), per language."""
    return f"{prefix}_{what}_{lang}"
