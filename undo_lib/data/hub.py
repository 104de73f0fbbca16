"""What scale `paper` reads from the Hugging Face hub, checked before anything runs: a clear error offline, at once
(without the hub library's retries, which take ~25 s per file when the hub cannot be reached)."""
import os
import socket
from urllib.parse import urlparse

PROBE_TIMEOUT_S = 3.0


def unreachable() -> str | None:
    """Why the hub cannot be reached from here (offline mode, no name resolution, no connection), or None."""
    import huggingface_hub.constants as hub
    if hub.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0"):
        return "HF_HUB_OFFLINE is set"
    url = urlparse(hub.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=PROBE_TIMEOUT_S).close()
    except OSError as error:
        return f"{url.hostname}:{port} cannot be reached ({error.strerror or error})"
    return None


def require(repos, purpose: str) -> None:
    """Raise RuntimeError naming every (repo id, "model" | "dataset") of `repos` that the hub does not serve here
    (no network, no licence accepted, no login), and what needs them (`purpose`). When the hub cannot be reached at
    all, every repo is missing: one probe, no per-file retries."""
    why = unreachable()
    missing = [f"{kind} {repo}" for repo, kind in repos] if why else []
    if not why:
        import huggingface_hub
        for repo, kind in repos:
            try:
                huggingface_hub.hf_hub_download(repo, "config.json" if kind == "model" else "README.md",
                                                repo_type=kind)
            except Exception:  # noqa: BLE001 - gated, absent: every failure means the run cannot go on
                missing.append(f"{kind} {repo}")
    if missing:
        raise RuntimeError(f"{purpose} needs the Hugging Face hub, which does not serve here: " + ", ".join(missing)
                           + f" ({why + '; ' if why else ''}network access, a login and accepted licences). "
                           "Scales 'smoke' and 'cpu' run offline on stand-ins.")


def stand_in_only(scale: str, check_hub, experiment: str) -> None:
    """A notebook whose offline stand-in runs at scales smoke and cpu: at gpu and paper, `check_hub()` first (it
    raises offline, naming what is missing), then refuse: the real `experiment` is not built yet."""
    if scale in ("smoke", "cpu"):
        return
    check_hub()
    raise NotImplementedError(f"{experiment} at scale {scale!r}: the hub serves what it reads, but the real "
                              "experiment is not built yet; run scale 'cpu'")
