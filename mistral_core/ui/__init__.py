"""The pages people use: an approval's page, the inbox of waits, an execution's progress.

Server-rendered HTML (Jinja2, autoescaped), no JavaScript and no build step: forms and links only,
so a page works in any browser, with a keyboard and with a screen reader. The UI reaches data
only as the API does: through the services and the store port (an import contract).

* :mod:`.routes`: the pages, as a table (beside the API's; :mod:`mistral_core.auth.policy` names
  each in ``UI_PAGES`` or ``LINK_PAGES``).
* :mod:`.app`: :func:`~.app.mount` puts them on the API's Falcon app.
* :mod:`.session`: signing in with a key (or an OIDC access token) for a session cookie.
* :mod:`.forms`: a form built from an approval's JSON Schema, and its values read back.
* :mod:`.render`: the templates, safe Markdown, the headers every page gets.
"""
