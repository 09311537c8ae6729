"""Helpers for tests that look at pages in a real browser.

Playwright drives Debian's Chromium (``playwright install`` cannot download
browsers here, and need not). Two kinds of check:

* ``open_recorded``: load an exported page from file:// and record every
  network request and JavaScript error, to prove the lecture site works
  offline.
* ``jupyterlab`` + ``run_in_lab``: start a real JupyterLab server, open a
  notebook, run all cells and let the test inspect the DOM, to prove the
  lessons render in the tool learners actually use.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# Playwright's launch() adds a fresh temporary --user-data-dir itself (and
# refuses one in args), so no profile state leaks between runs.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
REPO_ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"


def launch_chromium(playwright):
    """Start Debian's Chromium headless with a fresh profile."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@dataclass
class PageLog:
    """What a page did besides rendering: both lists must stay empty offline."""

    network: list[str] = field(default_factory=list)  # URLs other than file: and data:
    errors: list[str] = field(default_factory=list)  # uncaught exceptions and console errors


def open_recorded(browser, url: str, timeout_ms: int = 30_000):
    """Open ``url`` in a new page (own context) and return ``(page, PageLog)``.

    Recording starts before navigation, so requests made while the page
    loads are caught. Network requests are also aborted, so a page that
    reaches for a CDN fails fast instead of waiting on a timeout.
    """
    page = browser.new_page()
    page.set_default_timeout(timeout_ms)
    log = PageLog()

    def on_request(request):
        if not _is_local(request.url):
            log.network.append(request.url)

    def on_console(message):
        if message.type == "error":
            log.errors.append(f"console: {message.text}")

    page.on("request", on_request)
    page.on("console", on_console)
    page.on("pageerror", lambda error: log.errors.append(f"pageerror: {error}"))
    page.route(lambda url: not _is_local(url), lambda route: route.abort())
    page.goto(url, wait_until="load")
    return page, log


def _is_local(url: str) -> bool:
    return url.startswith(("file:", "data:"))


def save_screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as artifacts/screenshots/NAME.png (gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_mathjax(page) -> None:
    """Wait until MathJax 2 has finished its first typesetting pass."""
    page.wait_for_function("() => window.MathJax && window.MathJax.Hub")
    page.evaluate("() => new Promise(done => MathJax.Hub.Register.StartupHook('End', done))")


# --- JupyterLab -------------------------------------------------------------


@dataclass
class LabServer:
    url: str  # base URL, e.g. http://127.0.0.1:8891
    root_dir: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def jupyterlab(root_dir, startup_timeout: float = 60):
    """Run ``jupyter lab`` on a free local port serving ``root_dir``.

    The server gets its own config and runtime folders, so user settings,
    saved workspaces and other servers cannot change what the test sees.
    It is stopped on exit (SIGTERM, which also shuts its kernels down; then
    SIGKILL to its process group if it hangs).
    """
    root_dir = Path(root_dir)
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="adnb-lab-") as home:
        env = dict(os.environ, JUPYTER_CONFIG_DIR=f"{home}/config", JUPYTER_RUNTIME_DIR=f"{home}/runtime")
        # Without this a "get Jupyter news?" toast covers part of the notebook.
        settings = Path(home, "config/lab/user-settings/@jupyterlab/apputils-extension")
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        cmd = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            "--ip=127.0.0.1", f"--port={port}", "--IdentityProvider.token=",
            "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={root_dir}",
            # No announcements or update checks: tests talk to nothing outside.
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        with open(f"{home}/server.log", "wb") as server_log:
            proc = subprocess.Popen(cmd, env=env, stdout=server_log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                server = LabServer(f"http://127.0.0.1:{port}", root_dir)
                _wait_until_up(proc, f"{server.url}/api/status", startup_timeout, f"{home}/server.log")
                yield server
            finally:
                _stop(proc)


def _wait_until_up(proc, url: str, timeout: float, log_path: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{Path(log_path).read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"jupyter lab did not answer {url} in {timeout} s:\n{Path(log_path).read_text()[-2000:]}")


def _stop(proc) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def open_in_lab(browser, server: LabServer, notebook: str, timeout_ms: int = 120_000):
    """Open ``notebook`` (path relative to the server's root) in JupyterLab and
    return the page once the document and its kernel are ready. Nothing has
    run yet: the cells show their stored outputs. The caller closes the page.
    """
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(timeout_ms)
    page.goto(f"{server.url}/lab/tree/{notebook}")
    # The notebook panel is the current widget once the document has opened.
    page.wait_for_function(
        """() => {
            const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
            return w && w.sessionContext && w.content && w.content.widgets.length > 0;
        }"""
    )
    page.evaluate(
        """async () => {
            const panel = window.jupyterapp.shell.currentWidget;
            await panel.context.ready;
            await panel.sessionContext.ready;
        }"""
    )
    return page


def run_all_cells(page) -> None:
    """Run every cell of the notebook open in ``page``; return when all have
    run and the kernel is idle."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # run-all resolves when execution requests settle; also wait until no cell
    # is still queued ("[*]") and the kernel reports idle.
    page.wait_for_function(
        """() => {
            const panel = window.jupyterapp.shell.currentWidget;
            const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
            const busy = [...document.querySelectorAll('.jp-InputPrompt')]
                .some(p => p.textContent.includes('*'));
            return kernel && kernel.status === 'idle' && !busy;
        }"""
    )


def run_in_lab(browser, server: LabServer, notebook: str, timeout_ms: int = 120_000):
    """Open ``notebook`` (path relative to the server's root) in JupyterLab,
    run all cells, wait until every cell has run and the kernel is idle, and
    return the page for the caller to inspect, e.g.
    ``page.locator('.jp-OutputArea-output svg').count()``.
    The caller closes the page.
    """
    page = open_in_lab(browser, server, notebook, timeout_ms)
    try:
        run_all_cells(page)
    except BaseException:
        page.close()
        raise
    return page
