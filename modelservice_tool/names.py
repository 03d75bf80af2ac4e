"""Release and namespace names that helm and Kubernetes accept, checked before any work."""

from __future__ import annotations

from .errors import UserError

DEFAULT_RELEASE = "modelservice"
DEFAULT_NAMESPACE = "default"

_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"  # compiled on use: launch imports this early


def _suggestion(name: str) -> str:
    import re

    fixed = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return f" (e.g. `{fixed}`)" if fixed else ""


def check_release_name(release: str) -> None:
    """A release name helm, pyhelm3 and the chart's object names all accept: a DNS label of
    at most 53 characters (helm would also take dots; pyhelm3 and Service names do not)."""
    import re

    if not re.fullmatch(_DNS_LABEL, release) or len(release) > 53:
        raise UserError(f"invalid release name {release!r}: use at most 53 lowercase letters, "
                        "digits and '-', starting and ending with a letter or "
                        f"digit{_suggestion(release)}")


def check_namespace(namespace: str) -> None:
    """A Kubernetes namespace: a DNS label of at most 63 characters (UserError otherwise)."""
    import re

    if not re.fullmatch(_DNS_LABEL, namespace) or len(namespace) > 63:
        raise UserError(f"invalid namespace {namespace!r}: use at most 63 lowercase "
                        "letters, digits and '-', starting and ending with a letter or "
                        f"digit{_suggestion(namespace)}")
