"""The control-plane contract between the scheduler, the nodes and the operator
surfaces: command names and the command channel (``commands``), migration
requests, results and the leader's status (``requests``), the node metrics
hash (``metrics``) and the observed cluster (``cluster``). It imports only
``wire``, ``ports`` and the top-level helpers, never a service."""
