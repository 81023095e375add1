"""How Tempest calls meter agents (TEMPEST_AGENT_*), merged into tempest.settings and
documented in docs/operations.md ("Meter agents over TLS").

An agent fronted by a TLS proxy is registered with an https:// address; Tempest verifies its
certificate against AGENT_CA_BUNDLE (a PEM file: the CA that signed the agents' certificates),
or the system's CAs when unset. AGENT_HTTPS_ONLY refuses to send an agent key over plain http.
"""

from __future__ import annotations

import os

DEFAULTS: dict[str, object] = {
    "AGENT_CA_BUNDLE": None,  # PEM CA bundle for https:// agents; unset: the system's CAs
    "AGENT_HTTPS_ONLY": False,  # true: never push to (or fetch from) an http:// agent
}

TEXT = ("AGENT_CA_BUNDLE",)

NUMBERS: dict[str, tuple] = {}


def check(config, error) -> None:
    bundle = config.get("AGENT_CA_BUNDLE")
    if bundle is not None and not (isinstance(bundle, str) and os.path.isfile(bundle)
                                   and os.access(bundle, os.R_OK)):
        raise error("AGENT_CA_BUNDLE", "must be a readable PEM file (the CA of the agents' "
                    "certificates)")
    if not isinstance(config.get("AGENT_HTTPS_ONLY"), bool):
        raise error("AGENT_HTTPS_ONLY", "must be true or false")


def verify(config) -> str | bool:
    """What requests' `verify=` gets for an agent: the CA bundle, or the system's CAs."""
    return config.get("AGENT_CA_BUNDLE") or True


def https_only(config) -> bool:
    return config.get("AGENT_HTTPS_ONLY") is True
