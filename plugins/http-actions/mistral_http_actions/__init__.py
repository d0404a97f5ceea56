"""mistral-core's HTTP actions, published in the entry-point group ``mistral.actions``.

* ``std.http`` — send a request, the answer is the result (synchronous).
* ``std.mistral_http`` — send a request carrying the Mistral-* headers; the web
  service pushes the result back later through the API (asynchronous).

Egress is restricted by a deny list of address ranges, see
:mod:`mistral_http_actions.egress`.
"""

from mistral_http_actions.actions import HTTPAction, MistralHTTPAction

__version__ = "0.1.0"

__all__ = ["HTTPAction", "MistralHTTPAction", "__version__"]
