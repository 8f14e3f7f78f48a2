"""Beyond one machine, for real: a two-node Ray cluster, PostgreSQL, and two web replicas without stickiness.

Ray's own multi-node test cluster (two raylets on this machine, one CPU each) takes the trainings;
the run store is a throw-away PostgreSQL server; run files go to one shared folder; each replica
has a home of its own (nothing shared but the database and that folder). Two learners train, one
on each replica: their jobs land on different nodes; either replica shows either learner's live
job; one node is stopped mid-job: its job fails saying the worker was lost, with its finished
epochs, and the other finishes.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import App, new_page, start_server
from tests.servers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.cluster]
EPOCHS = 150  # moons: long enough to lose a node mid-job, short enough to finish the other


@pytest.fixture(scope="module")
def ray_cluster():
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker_node = cluster.add_node(num_cpus=1)
    yield cluster, worker_node
    cluster.shutdown()


@pytest.fixture(scope="module")
def replicas(ray_cluster, postgres, tmp_path_factory):
    cluster, _ = ray_cluster
    shared = {
        "PLAYGROUND_RAY_ADDRESS": cluster.address,
        "PLAYGROUND_DATABASE_URL": postgres.new_database(),
        "PLAYGROUND_RUN_FILES": str(tmp_path_factory.mktemp("shared-run-files")),
        "PLAYGROUND_CALIBRATE": "0",
    }
    servers = [
        start_server(
            tmp_path_factory.mktemp(f"replica-{i}"),
            f"replica-{i}",
            {**shared, "PLAYGROUND_HOME": str(tmp_path_factory.mktemp(f"replica-home-{i}"))},
        )
        for i in (1, 2)
    ]
    yield servers, shared
    for server in servers:
        server.stop()


def job_of(shared: dict, token: str):
    """The learner's newest job, read straight from the shared run store."""
    import os

    from core import db, jobs

    old = {k: os.environ.get(k) for k in shared}
    os.environ.update(shared)
    try:
        return jobs.latest(token)
    finally:
        db.dispose()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_two_replicas_two_nodes_and_a_node_lost_mid_job(browser, ray_cluster, replicas):
    cluster, worker_node = ray_cluster
    (first, second), shared = replicas
    learners = []
    try:
        for server in (first, second):  # one learner on each replica
            app = App(new_page(browser, server.url))
            app.open_train()
            app.set_epochs(EPOCHS)
            app.start_training()
            learners.append(app)
        for app in learners:
            app.wait_loss_epochs(2, 120_000)
        tokens = [app.token for app in learners]
        views = [job_of(shared, token) for token in tokens]
        nodes = {v.worker.split(":")[1] for v in views}
        assert len(nodes) == 2, [v.worker for v in views]  # one job on each node

        # Any replica serves any learner: the first learner's live job, seen through the second replica.
        elsewhere = App(new_page(browser, second.url))
        elsewhere.page.goto(f"/train?u={tokens[0]}")
        elsewhere.wait_status(rf"^Running · Epoch \d+/{EPOCHS}\b", 60_000)
        elsewhere.page.context.close()

        lost = next(i for i, v in enumerate(views) if v.worker.split(":")[1] == worker_node.node_id[:12])
        kept = 1 - lost
        cluster.remove_node(worker_node, allow_graceful=False)  # the machine dies mid-job
        failed = wait_for(lambda: (v := job_of(shared, tokens[lost])).status == "failed" and v, 90, "the lost node's job failed")
        assert failed.message.key == "job.worker_lost" and failed.epochs_done >= 2  # its finished epochs stay
        learners[lost].wait_status(r"^Failed\b", 60_000)
        learners[kept].wait_status(rf"^Finished · {EPOCHS} of {EPOCHS} epochs", 240_000)  # the other one trains to its end
    finally:
        for app in learners:
            app.page.context.close()
