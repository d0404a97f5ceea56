"""People in the loop: approvals (``std.approval``) answered on a page, decided by a quorum.

* :mod:`.request`: what an approval asks (its input, checked) and how its answers decide it (pure).
* :mod:`.ports`: what approvals need from the store (:class:`~.ports.ApprovalStore`).
* :mod:`.service`: :class:`~.service.Approvals`, which keeps answers durably and applies a
  decision through the normal result path (``engine.results.complete``).
* :mod:`.links`: the signed, expiring URL of a wait's page, and the server's secret.

An action class is a *human wait* when it declares ``human_wait = True`` (``std.approval``
does); its input is an approval request.
"""
