"""Pure decisions of both controllers: what is observed in, what to do or write out.

No API calls and no Kopf here: the handlers (:mod:`modeleval.handlers`) read the world, call
these functions and carry out what they return, so every decision is tested from tables.

- :mod:`~modeleval.reconcile.evaltask_state`: the EvalTask state machine (``next_step``) and
  its status patch;
- :mod:`~modeleval.reconcile.evaltask_views`: the state machine's views of Jobs, pods and
  target groups, built from what the API returned;
- :mod:`~modeleval.reconcile.servicegroup_status`: a group's phase, conditions and message
  from its Deployment and pods;
- :mod:`~modeleval.reconcile.pod_failures`: why a model-server pod is not serving;
- :mod:`~modeleval.reconcile.drift`: which fields of a child differ from what we write;
- :mod:`~modeleval.reconcile.children`: whether an existing child is ours, and what to do
  with it (create, update, repair, adopt, refuse).
"""
