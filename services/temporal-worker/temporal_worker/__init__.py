"""Reference Temporal worker: polls a task queue for one worker pool, with an HTTP side port for probes
and metrics. The polling loop depends only on the `TaskSource` protocol (tasks.py); the Temporal SDK is
confined to temporal_source.py."""
SERVICE_NAME = "temporal-worker"
