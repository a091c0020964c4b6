"""`carebot serve …` in a process of its own, as an operator runs it: started, waited for, stopped
or killed. Shared by the benchmarks (load, replicas on Redis) and the tests that need a real
process (crash recovery, replicas), so both drive the same thing the same way.
"""
from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import aiohttp

from benchmarks.procs import carebot_command, child_env, free_port


@dataclass
class ServerProcess:
    process: asyncio.subprocess.Process
    url: str
    log_path: Path
    started: float
    ready_seconds: Optional[float] = None
    hwm_after_start: Optional[int] = None
    _log_file: Any = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def ready(self, timeout: float = 600.0) -> "ServerProcess":
        """Until GET /healthz answers 200 (the model is loaded); raises with the log's tail if the
        process exits or the time runs out."""
        if self.ready_seconds is not None:
            return self
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                if self.process.returncode is not None:
                    raise RuntimeError(f"the carebot server exited with {self.process.returncode}:\n"
                                       + self.log_tail())
                try:
                    async with session.get(self.url + "/healthz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                        if r.status == 200:
                            break
                except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the carebot server did not become ready in time:\n" + self.log_tail())
                await asyncio.sleep(0.2)
        self.ready_seconds = time.perf_counter() - self.started
        return self

    async def stop(self, timeout: float = 60.0) -> Optional[int]:
        """SIGTERM (answers in flight finish), SIGKILL after `timeout`; the exit code."""
        if self.process.returncode is None:
            try:
                self.process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(self.process.wait(), timeout)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()
            except ProcessLookupError:
                pass
        self._close_log()
        return self.process.returncode

    async def kill(self) -> None:
        """SIGKILL: a crash, nothing finishes."""
        if self.process.returncode is None:
            try:
                self.process.kill()
            except ProcessLookupError:
                pass
            await self.process.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


async def start_server(platform: str, workdir: Path, env: Dict[str, str], *, name: str = "server",
                       port: Optional[int] = None, extra_args: Sequence[str] = (),
                       command: Optional[List[str]] = None) -> ServerProcess:
    """Start `carebot serve PLATFORM` on loopback; returns at once (call `ready()` to wait).

    cwd is `workdir`, so a developer's ./.env cannot change what runs; CAREBOT_* and platform
    variables of the developer's shell are dropped unless given in `env`.
    """
    port = port or free_port()
    drop = ("CAREBOT_ALLOWED_CHANNELS", "CAREBOT_LOG_LEVEL", "CAREBOT_REDIS_URL", "CAREBOT_AUDIT_LOG",
            "SLACK_APP_TOKEN", "TEAMS_APP_ID")
    log_path = workdir / f"{name}.log"
    log_file = open(log_path, "ab")
    args = ["serve", platform] + (["--http"] if platform == "slack" else []) + [
        "--host", "127.0.0.1", "--port", str(port), *extra_args]
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *((command or carebot_command()) + args), cwd=str(workdir), env=child_env(env, drop=drop),
        stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=log_file,
    )
    return ServerProcess(process=process, url=f"http://127.0.0.1:{port}", log_path=log_path,
                         started=started, _log_file=log_file)
