"""Several web processes on one port, each with its own listening socket (``SO_REUSEPORT``).

uvicorn's own supervisor hands every worker the same socket. Workers then race for each new
connection, and with keep-alive clients one worker can end up with all of them: under a
16-connection load every ``/api/verify`` request went to one of two workers (one core busy,
one idle, 380-460 requests/s instead of 1,000+). With a socket per worker, the kernel spreads
connections over the workers by their address and port.

TCP_NODELAY is set on each socket (accepted connections inherit it): the workers' event loops
do not set it on a socket they are given, and without it each response waits for the client's
delayed ACK (about 40 ms on Linux; uvicorn issue 3149).
"""

from __future__ import annotations

import contextlib
import logging
import socket
from typing import Any

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors.multiprocess import Multiprocess, Process

logger = logging.getLogger("microcred.serve")


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP listener on ``host:port`` that other processes' listeners may share."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class SpreadWorkers(Multiprocess):
    """uvicorn's supervisor (restarts dead workers, stops them all on a signal), but worker
    ``i`` always serves ``sockets[i]``."""

    def _process(self, index: int) -> Process:
        return Process(self.config, [self.sockets[index]])

    def init_processes(self) -> None:
        for index in range(self.processes_num):
            process = self._process(index)
            process.start()
            self.processes.append(process)

    def restart_all(self) -> None:  # SIGHUP: replace each worker, one at a time
        for index, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self._process(index)
            new.start()
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                logger.error("a new worker was not ready in time: restart aborted")
                return
            old.terminate()
            old.join()
            self.processes[index] = new

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for index, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE:  # it would fail the same way again
                logger.error("worker %s failed to start: stopping", process.pid)
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            logger.warning(
                "worker %s died (exit %s): starting another", process.pid, process.exitcode
            )
            replacement = self._process(index)
            replacement.start()
            self.processes[index] = replacement

    def handle_ttin(self) -> None:  # the worker count follows --workers
        logger.info("SIGTTIN ignored: restart with another --workers")

    def handle_ttou(self) -> None:
        logger.info("SIGTTOU ignored: restart with another --workers")


def port_is_free(host: str, port: int) -> None:
    """Raise ``OSError`` when ``host:port`` is taken, by any process: a plain bind (without
    ``SO_REUSEPORT``) fails where another server listens, even one that shares its port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def serve(workers: int, options: dict[str, Any]) -> None:
    """``uvicorn.run`` with ``workers`` processes, a listening socket each. A second server
    started on the same port fails ("address in use") instead of silently sharing it."""
    config = Config(
        "microcred.web.app:create_app_from_env", factory=True, workers=workers, **options
    )
    host, port = str(options["host"]), int(str(options["port"]))
    port_is_free(host, port)
    sockets = [listening_socket(host, port) for _ in range(workers)]
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the supervisor stops its workers
        SpreadWorkers(config, sockets=sockets).run()
