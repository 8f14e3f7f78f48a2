"""How often the Train page polls its job: every second while it trains or is next in line, less often far back
in the queue (issue 13: a room of queued tabs must not slow the training it shares the machine with)."""

from core import runs
from core.jobs import JobView
from core.spec import ExperimentSpec
from core.status import Status
from ui import polling, train_view


def view(status: Status, position: int | None) -> JobView:
    run = runs.Run("job", "owner", "job", ExperimentSpec.default_for("moons"), status)
    return JobView(run, queue_position=position)


def test_a_tab_far_back_in_the_queue_polls_less_often_and_the_next_in_line_every_second():
    assert train_view.poll_every(view(Status.RUNNING, None)) == polling.POLL_SECONDS
    assert train_view.poll_every(view(Status.QUEUED, 1)) == polling.POLL_SECONDS
    assert train_view.poll_every(view(Status.QUEUED, 3)) == 3 * polling.POLL_SECONDS
    assert train_view.poll_every(view(Status.QUEUED, 40)) == polling.QUEUED_POLL_SECONDS
    # A sequence's next run waits for the learner's own previous one, shown on the same page: every second.
    assert train_view.poll_every(view(Status.QUEUED, None)) == polling.POLL_SECONDS


def test_moving_up_the_queue_redraws_the_page_so_that_it_polls_at_its_new_pace():
    # The fragment's interval is set by the page's full run: a new pace must make the poll rerun the page.
    assert train_view.drawn_state(view(Status.QUEUED, 3)) != train_view.drawn_state(view(Status.QUEUED, 2))
    # Far back, moving up one place changes nothing the page drew: no full rerun for every job that ends ahead.
    assert train_view.drawn_state(view(Status.QUEUED, 12)) == train_view.drawn_state(view(Status.QUEUED, 11))
