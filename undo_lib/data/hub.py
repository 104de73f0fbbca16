"""What scale `paper` reads from the Hugging Face hub, checked before anything runs: a clear error offline, at once
(without the hub library's retries, which take ~25 s per file when the hub cannot be reached). A repo already in
the local cache counts as served, so a machine without network but with a filled cache runs."""
import os
import socket
from urllib.parse import urlparse

PROBE_TIMEOUT_S = 3.0
PROXIES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def unreachable() -> str | None:
    """Why the hub cannot be reached from here (offline mode, no name resolution, no connection), or None. Behind
    a proxy (HTTP(S)_PROXY) the direct probe would mislead, so the hub library is left to find out."""
    import huggingface_hub.constants as hub_constants
    offline = os.environ.get("HF_HUB_OFFLINE", "").upper()  # also when set after the hub library's import
    if hub_constants.HF_HUB_OFFLINE or offline in hub_constants.ENV_VARS_TRUE_VALUES:
        return "HF_HUB_OFFLINE is set"
    url = urlparse(hub_constants.ENDPOINT)
    if not url.hostname or any(os.environ.get(p) for p in PROXIES):
        return None
    try:
        address = (url.hostname, url.port or (443 if url.scheme == "https" else 80))
        socket.create_connection(address, timeout=PROBE_TIMEOUT_S).close()
    except ValueError as error:  # a malformed port in the endpoint
        return f"the endpoint {hub_constants.ENDPOINT!r} is malformed ({error})"
    except OSError as error:
        return f"{address[0]}:{address[1]} cannot be reached ({error.strerror or error})"
    return None


def _served(repo: str, kind: str, local_only: bool) -> bool:
    """Whether the hub (or, with local_only, the local cache) has the repo's config.json (model) or README.md."""
    import huggingface_hub
    try:
        huggingface_hub.hf_hub_download(repo, "config.json" if kind == "model" else "README.md", repo_type=kind,
                                        local_files_only=local_only)
        return True
    except Exception:  # noqa: BLE001 - offline, gated, absent: every failure means it is not served
        return False


def require(repos, purpose: str) -> None:
    """Raise RuntimeError naming every (repo id, "model" | "dataset") of `repos` that neither the hub nor the local
    cache serves here (no network, no licence accepted, no login), and what needs them (`purpose`). When the hub
    cannot be reached at all, only the cache is asked: one probe, no per-file retries."""
    why = unreachable()
    missing = [f"{kind} {repo}" for repo, kind in repos if not _served(repo, kind, local_only=bool(why))]
    if missing:
        reason = f"{why}; " if why else ""
        raise RuntimeError(f"{purpose} needs the Hugging Face hub, which does not serve here: " + ", ".join(missing)
                           + f" ({reason}network access, a login and accepted licences). "
                           "Scales 'smoke' and 'cpu' run offline on stand-ins.")


def stand_in_only(scale: str, check_hub, experiment: str) -> None:
    """A notebook whose offline stand-in runs at scales smoke and cpu: at gpu and paper, `check_hub()` first (it
    raises offline, naming what is missing), then refuse: the real `experiment` is not built yet."""
    if scale in ("smoke", "cpu"):
        return
    check_hub()
    raise NotImplementedError(f"{experiment} at scale {scale!r}: the hub serves what it reads, but the real "
                              "experiment is not built yet; run scale 'cpu'")
