"""Repair executors, the adapters behind ``core.ports.RepairExecutor`` (chosen by AWOOOI_REPAIR_EXECUTOR).

- :class:`DryRunExecutor` (``dry-run``, the default): records what the kubernetes executor would do.
- :class:`KubernetesExecutor` (``kubernetes``): deletes a pod, restarts or scales a Deployment through
  lightkube; :func:`connect_kubernetes` builds its client from a kubeconfig or the service account.
- :class:`WebhookExecutor` (``webhook``): hands the repair to a runbook service, signed.

Dry-run and kubernetes share one planner (``activities.repair.plan``), so what dry-run reports is
what a real run does.
"""

from activities.repair.dry_run import DryRunExecutor
from activities.repair.kubernetes import KubernetesExecutor, connect_kubernetes
from activities.repair.webhook import WebhookExecutor

__all__ = ["DryRunExecutor", "KubernetesExecutor", "WebhookExecutor", "connect_kubernetes"]
