"""The notebooks as a reader meets them: JupyterLab in a real (headless) Chromium, every notebook run at scale smoke
through the UI (Run > Run All Cells), all side by side in one browser (a page and a kernel each), then saved and
read back: no cell may end in an error, every figure cell must have drawn, and a screenshot of each is kept in
build/browser/ (the README shows notebook 01's). This is where `./run_all.sh test` runs the notebooks: from the
empty smoke store, so that their training is part of the test (with UNDO_SKIP_BROWSER=1, nbval runs them).

Needs Debian's `chromium` (`apt-get install chromium`) and the `playwright` Python package; `.ci/run` installs both.
Without them the test fails and says what is missing, unless UNDO_SKIP_BROWSER=1 asks to skip it.
"""
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

from undo_lib import repo_path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NOTEBOOKS = sorted(repo_path("notebooks").glob("[0-9][0-9]_*.ipynb"))
RUN_TIMEOUT_S = 900  # all the notebooks together


def _missing() -> list[str]:
    missing = [] if CHROMIUM else ["Chromium (apt-get install chromium)"]
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install playwright)")
    return missing


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a free local port, rooted at a folder holding the notebooks prepared at scale smoke."""
    if os.environ.get("UNDO_SKIP_BROWSER") == "1":
        pytest.skip("UNDO_SKIP_BROWSER=1")
    missing = _missing()
    assert not missing, "the browser test needs " + " and ".join(missing)
    root = tmp_path_factory.mktemp("lab")
    import papermill
    for nb in NOTEBOOKS:  # here, not a papermill process each (about 2 s apiece)
        papermill.execute_notebook(str(nb), str(root / nb.name), parameters={"scale": "smoke"}, kernel_name="python3",
                                   prepare_only=True, progress_bar=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = root / ".lab-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)  # render every cell (no windowing), so that every prompt can be read
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    news = root / ".lab-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)  # no "news?" prompt over the screenshot
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    # The six kernels share the two cores: each trains in-process on one thread (a worker pool per kernel, two
    # threads each, oversubscribes them: 434 s against 298 s for the six from an empty store). The pool inside a
    # kernel is what test_run_all's notebook runs exercise.
    env = {**os.environ, "UNDO_STORE": os.environ.get("UNDO_STORE", str(root / "store")),
           "JUPYTERLAB_SETTINGS_DIR": str(root / ".lab-settings"), "UNDO_WORKERS": "1", "OMP_NUM_THREADS": "1"}
    server = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
                               "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=undo", f"--notebook-dir={root}",
                               "--ServerApp.open_browser=False", "--allow-root"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status?token=undo", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        raise RuntimeError("JupyterLab did not start within a minute")
    yield url, root
    server.terminate()
    server.wait(timeout=30)


def _prompts(page) -> list[str]:
    """The code cells' prompts of the page's notebook: "[3]:" ran, "[*]:" running or queued, "[ ]:" not run."""
    visible = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt")
    return [p.strip() for p in visible.all_inner_texts()]


def _ran(prompt: str) -> bool:
    return prompt[1:-2].isdigit()


def _run_finished(page, n_code: int) -> bool:
    """Whether Run All Cells is over: every code cell's prompt drawn, none "[*]" (running or queued), one at least
    numbered. After an error the kernel aborts the queued cells, whose prompts go back to "[ ]", so a failing
    notebook is over at its error (not at the timeout)."""
    prompts = _prompts(page)
    return len(prompts) == n_code and not any(p.startswith("[*]") for p in prompts) and any(map(_ran, prompts))


def _start(browser, url, path):
    """A page with `path` open in its own JupyterLab workspace (pages do not share a layout), Run All Cells clicked."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/lab/workspaces/{path.stem}/tree/{path.name}?reset&token=undo")  # reset: no tabs restored
    page.locator(".jp-Notebook .jp-CodeCell").first.wait_for(timeout=60_000)
    try:  # JupyterLab may ask which kernel to start: the notebook's own (Python 3)
        page.locator(".jp-Dialog").get_by_role("button", name="Select").click(timeout=15_000)
    except PlaywrightTimeout:
        pass
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()
    return page


@pytest.fixture(scope="module")
def runs(lab):
    """{notebook name: (images on the page, or None when it timed out)}: every notebook run through the UI, all
    side by side (one kernel each, so the two cores share the work), then saved, with a screenshot of each."""
    from playwright.sync_api import sync_playwright
    url, root = lab
    shots = repo_path("build", "browser")
    shots.mkdir(parents=True, exist_ok=True)
    n_code = {p.name: sum(c.cell_type == "code" for c in nbformat.read(root / p.name, as_version=4).cells)
              for p in NOTEBOOKS}
    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        pages = {path: _start(browser, url, path) for path in NOTEBOOKS}
        deadline = time.time() + RUN_TIMEOUT_S
        while len(out) < len(pages) and time.time() < deadline:
            for path, page in pages.items():
                if path.name not in out and _run_finished(page, n_code[path.name]):
                    out[path.name] = _save(page, shots / f"{path.stem}.png")
            time.sleep(1)
        for path, page in pages.items():
            if path.name not in out:
                page.screenshot(path=str(shots / f"{path.stem}-timeout.png"), full_page=True)
                out[path.name] = None
        browser.close()
    return out


def _save(page, shot) -> int:
    """Save the notebook (Ctrl+S), screenshot its first figure; the number of images on the page."""
    images = page.locator(".jp-OutputArea-output img").count()
    page.keyboard.press("Control+s")
    time.sleep(2)
    if images:
        page.locator(".jp-OutputArea-output img").first.scroll_into_view_if_needed()
    page.screenshot(path=str(shot))
    return images


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_in_jupyterlab_in_a_browser(lab, runs, path):
    _, root = lab
    images = runs[path.name]
    assert images is not None, f"{path.name} still running after {RUN_TIMEOUT_S} s (screenshot in build/browser)"
    saved = nbformat.read(root / path.name, as_version=4)
    errors = [o for c in saved.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    if errors:  # the traceback's last lines, without the terminal colours
        tail = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(errors[0].traceback)).splitlines()[-12:]
        pytest.fail(f"{path.name}: {errors[0].ename}: {errors[0].evalue}\n" + "\n".join(tail))
    pngs = sum("image/png" in o.get("data", {}) for c in saved.cells if c.cell_type == "code" for o in c.outputs)
    assert pngs >= 1 and images >= 1, f"{path.name}: no figure rendered ({pngs} saved, {images} on the page)"
    assert all(c.execution_count for c in saved.cells if c.cell_type == "code" and c.source.strip()), \
        f"{path.name}: a code cell did not run"
    json.dumps(saved)  # the saved notebook is valid JSON end to end


def test_a_failing_notebook_is_over_at_its_error(lab):
    """The harness itself: a cell that raises ends the run there (the next cell never runs), not at the timeout."""
    from playwright.sync_api import sync_playwright
    url, root = lab
    path = root / "failing.ipynb"
    cells = [nbformat.v4.new_code_cell(src) for src in ("x = 1", "1 / 0", "x = 2")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}), path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = _start(browser, url, path)
        deadline = time.time() + 120
        while not (finished := _run_finished(page, 3)) and time.time() < deadline:
            time.sleep(0.5)
        prompts = _prompts(page)
        browser.close()
    assert finished, f"the harness did not see the run end: {prompts}"
    assert _ran(prompts[0]) and _ran(prompts[1]) and prompts[2] == "[ ]:", prompts
