"""What scale `paper` reads from the Hugging Face hub, checked before anything runs: a clear error offline."""


def require(repos, purpose: str) -> None:
    """Raise RuntimeError naming every (repo id, "model" | "dataset") of `repos` that the hub does not serve here
    (no network, no licence accepted, no login), and what needs them (`purpose`)."""
    import huggingface_hub
    missing = []
    for repo, kind in repos:
        try:
            huggingface_hub.hf_hub_download(repo, "config.json" if kind == "model" else "README.md", repo_type=kind)
        except Exception:  # noqa: BLE001 - offline, gated, absent: every failure means the run cannot go on
            missing.append(f"{kind} {repo}")
    if missing:
        raise RuntimeError(f"{purpose} needs the Hugging Face hub, which does not serve here: " + ", ".join(missing)
                           + " (network access, a login and accepted licences). Scales 'smoke' and 'cpu' run "
                           "offline on stand-ins.")


def stand_in_only(scale: str, check_hub, experiment: str) -> None:
    """A notebook whose offline stand-in runs at scales smoke and cpu: at gpu and paper, `check_hub()` first (it
    raises offline, naming what is missing), then refuse: the real `experiment` is not built yet."""
    if scale in ("smoke", "cpu"):
        return
    check_hub()
    raise NotImplementedError(f"{experiment} at scale {scale!r}: the hub serves what it reads, but the real "
                              "experiment is not built yet; run scale 'cpu'")
