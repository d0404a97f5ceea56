"""Trust: who may do what.

* :mod:`.identity`: :class:`~.identity.Identity` (who a request comes from) and its
  :class:`~.identity.Role` (reader < operator < admin).
* :mod:`.policy`: the role every route and method of the API needs (a table that names every
  endpoint, so a new route cannot be forgotten), and what a per-action callback credential may do.
* :mod:`.middleware`: the Falcon middleware that authenticates a request (``X-Auth-Token``,
  ``Authorization: Bearer``, ``Mistral-Callback-Token``) through the configured
  :class:`~.identity.Authenticator` objects and authorizes it by the policy — the only contact
  of this package with the API.
"""
