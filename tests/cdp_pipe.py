"""A tiny Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (no websocket
library needed): Chromium reads NUL-terminated JSON commands on fd 3 and writes replies
and events on fd 4. Used by the browser test of the HTML report.

Example (needs Chromium)::

    with Browser.launch() as browser:
        page = browser.open_page(width=1280, height=800)
        load = page.navigate("file:///tmp/report.html")
        png = page.screenshot()
        print(load.console_errors, load.requests)
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


class CDPError(RuntimeError):
    pass


@dataclass
class PageLoad:
    """What happened while a page loaded."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # every URL the page requested


class Browser:
    def __init__(self, proc: subprocess.Popen, write_fd: int, read_fd: int, profile: str):
        self.proc = proc
        self._write_fd = write_fd
        self._read_fd = read_fd
        self._profile = profile
        self._next_id = 0
        self._replies: dict[int, dict] = {}
        self._events: queue.Queue = queue.Queue()
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def launch(cls, executable: str | None = None) -> Browser:
        executable = executable or find_chromium()
        if executable is None:
            raise FileNotFoundError("no Chromium found")
        profile = tempfile.mkdtemp(prefix="la-chromium-")
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()

        def child_fds() -> None:  # runs in the child before exec
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        proc = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=child_fds,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        return cls(proc, to_chrome_w, from_chrome_r, profile)

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                try:
                    self.send("Browser.close", timeout=5)
                except Exception:
                    pass
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
        finally:
            for fd in (self._write_fd, self._read_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ protocol
    def _read_loop(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._read_fd, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._cond:
                        self._replies[msg["id"]] = msg
                        self._cond.notify_all()
                else:
                    self._events.put(msg)
        with self._cond:
            self._cond.notify_all()

    def send(
        self,
        method: str,
        params: dict | None = None,
        session: str | None = None,
        timeout: float = 30,
    ) -> dict:
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._write_fd, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._next_id not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise CDPError(f"no reply to {method}")
                self._cond.wait(min(left, 0.5))
            reply = self._replies.pop(self._next_id)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def events(self, timeout: float = 0.0) -> list[dict]:
        """Drain events, waiting up to ``timeout`` for the first one."""
        out = []
        try:
            out.append(self._events.get(timeout=timeout) if timeout else self._events.get_nowait())
            while True:
                out.append(self._events.get_nowait())
        except queue.Empty:
            pass
        return out

    def open_page(self, width: int = 1280, height: int = 800) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        page = Page(self, session)
        for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            page.send(method)
        page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        return page


class Page:
    def __init__(self, browser: Browser, session: str):
        self.browser = browser
        self.session = session
        self.log: PageLoad | None = None

    def send(self, method: str, params: dict | None = None, timeout: float = 30) -> dict:
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    def _absorb(self, events: list[dict]) -> bool:
        """Record console errors and requests; True once the load event was seen."""
        loaded = False
        for ev in events:
            if ev.get("sessionId") != self.session or self.log is None:
                continue
            method, p = ev.get("method"), ev.get("params", {})
            if method == "Page.loadEventFired":
                loaded = True
            elif method == "Network.requestWillBeSent":
                self.log.requests.append(p["request"]["url"])
            elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                args = " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
                self.log.console_errors.append(f"console.{p['type']}: {args}")
            elif method == "Runtime.exceptionThrown":
                self.log.console_errors.append(
                    "exception: "
                    + p["exceptionDetails"].get("text", "")
                    + " "
                    + str(p["exceptionDetails"].get("exception", {}).get("description"))
                )
            elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
                entry = p["entry"]
                self.log.console_errors.append(f"{entry.get('source')}: {entry.get('text')}")
        return loaded

    def navigate(self, url: str, settle: float = 0.7, timeout: float = 30) -> PageLoad:
        """Load ``url``, wait for the load event and ``settle`` seconds more, and return
        the console errors and requests seen."""
        self.browser.events()  # drop anything from before
        self.log = PageLoad(url)
        self.send("Page.navigate", {"url": url})
        deadline = time.monotonic() + timeout
        while not self._absorb(self.browser.events(timeout=0.5)):
            if time.monotonic() > deadline:
                raise CDPError(f"{url} did not finish loading")
        end = time.monotonic() + settle
        while time.monotonic() < end:
            self._absorb(self.browser.events(timeout=0.1))
        return self.log

    def evaluate(self, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise CDPError(f"evaluate failed: {result['exceptionDetails']}")
        self._absorb(self.browser.events())
        return result["result"].get("value")

    def screenshot(self) -> bytes:
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        return base64.b64decode(data)
