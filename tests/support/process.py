"""Run the bot as a real process (``python -m bot``), configured only through its environment."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx


class BotProcess:
    def __init__(
        self,
        *,
        env: dict[str, str],
        port: int,
        workdir: Path,
        args: tuple[str, ...] = (),
        open_files: int | None = None,
    ) -> None:
        """``open_files``: the process's open-file limit, soft and hard (as a small host would set it)."""
        self.args = args
        self.open_files = open_files
        self.env = {**os.environ, **env, "PORT": str(port), "PYTHONUNBUFFERED": "1"}
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.workdir = workdir
        self.proc: asyncio.subprocess.Process | None = None
        self.log = workdir / f"bot-{port}.log"

    async def start(self, timeout: float = 20.0) -> None:
        log = self.log.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *self.args,
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=log,
            preexec_fn=self._limit_open_files if self.open_files else None,
        )
        log.close()
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient() as client:
            while True:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"bot exited: {self.log.read_text()[-2000:]}")
                try:
                    if (await client.get(self.url + "/healthz", timeout=1)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    # Killed, not left running: an orphan would hold its port and database for later tests.
                    self.proc.kill()
                    await self.proc.wait()
                    raise RuntimeError(f"bot did not start: {self.log.read_text()[-2000:]}")
                await asyncio.sleep(0.1)

    def _limit_open_files(self) -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_files, self.open_files))

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        """SIGTERM, as a deploy or Ctrl-C sends it: the bot must finish stopping on its own, and cleanly.

        A bot that ignores it is killed, and the test fails: killing it silently would hide a shutdown
        that hangs, which in production leaves the process's channels leased until it is killed.
        """
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), timeout=15)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            log = self.log.read_text()[-2000:]
            raise AssertionError(f"the bot did not stop within 15 s of SIGTERM: {log}") from None
        assert self.proc.returncode == 0, f"the bot exited {self.proc.returncode}: {self.log.read_text()[-2000:]}"
