"""Release and namespace names that helm and Kubernetes accept, checked before any work."""

from __future__ import annotations

import re

from .errors import UserError

DEFAULT_RELEASE = "modelservice"
DEFAULT_NAMESPACE = "default"

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def _suggestion(name: str) -> str:
    fixed = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return f" (e.g. `{fixed}`)" if fixed else ""


def check_release_name(release: str) -> None:
    """A release name helm, pyhelm3 and the chart's object names all accept: a DNS label of
    at most 53 characters (helm would also take dots; pyhelm3 and Service names do not)."""
    if not _DNS_LABEL.fullmatch(release) or len(release) > 53:
        raise UserError(f"invalid release name {release!r}: use at most 53 lowercase letters, "
                        "digits and '-', starting and ending with a letter or "
                        f"digit{_suggestion(release)}")


def check_namespace(namespace: str) -> None:
    """A Kubernetes namespace: a DNS label of at most 63 characters (UserError otherwise)."""
    if not _DNS_LABEL.fullmatch(namespace) or len(namespace) > 63:
        raise UserError(f"invalid namespace {namespace!r}: use at most 63 lowercase "
                        "letters, digits and '-', starting and ending with a letter or "
                        f"digit{_suggestion(namespace)}")
