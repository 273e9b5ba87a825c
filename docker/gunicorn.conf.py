"""gunicorn settings shared by `make run` and the Docker image."""

import os

from prometheus_client import multiprocess


def child_exit(server, worker):
    # A dead worker's metric files must stop counting as a live process's gauges (only in
    # multiprocess mode: without its directory there are no files, and the call would raise).
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
