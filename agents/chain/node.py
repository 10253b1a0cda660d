"""A managed Anvil node: the pinned binary from npm, started for one run, stopped after it.

``@foundry-rs/anvil`` is pinned in ``package.json`` beside ``solc``; npm
installs the binary inside a platform package
(``node_modules/@foundry-rs/anvil-<os>-<arch>/bin/anvil``). :func:`start_anvil`
runs it on a free loopback port with the settings that give parity with the
embedded eth-tester chain:

* ``--hardfork prague``: eth-tester runs Prague; with Cancun a reverted
  transaction pays less gas (EIP-7623's calldata floor is Prague's);
* ``--base-fee 0 --gas-price 0``: gas is free, as on eth-tester (agents sign
  with zero fees);
* automine (Anvil's default): every transaction is mined in its own block
  (a round's orders, pipelined, are mined in blocks of many with automine
  off for the round: ``Chain.send_all``);
* ``--order fifo``: the pool gives a block its transactions in the order they
  arrived (the order the loop drew), not by fee;
* the block gas limit of eth-tester's genesis (30,029,122).

The node is stopped by :meth:`AnvilNode.stop`, by leaving its ``with`` block
(also on Ctrl-C and on errors), at interpreter exit, and (Linux) by the kernel
if the Python process dies (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import atexit
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from .errors import ChainError

#: The hardfork eth-tester (py-evm) runs, and so the one a managed node runs.
HARDFORK = "prague"
#: eth-tester's genesis block gas limit (PyEVMBackend.generate_genesis_params()).
GAS_LIMIT = 30_029_122
#: Environment variable naming an anvil binary to use instead of the npm one.
ANVIL_ENV = "EMG_ANVIL"

_REPO = Path(__file__).resolve().parents[2]
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def anvil_binary() -> str | None:
    """Path of the anvil binary: ``$EMG_ANVIL``, the npm one (``node_modules`` of this
    checkout or of the working directory), else ``anvil`` on ``PATH``; None if there is none."""
    env = os.environ.get(ANVIL_ENV)
    if env:
        return env if os.access(env, os.X_OK) else None
    osname = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, sys.platform)
    arch = _ARCH.get(platform.machine().lower(), platform.machine().lower())
    exe = "anvil.exe" if osname == "win32" else "anvil"
    for root in (_REPO, Path.cwd()):
        cand = root / "node_modules" / "@foundry-rs" / f"anvil-{osname}-{arch}" / "bin" / exe
        if os.access(cand, os.X_OK):
            return str(cand)
    return shutil.which("anvil")


def anvil_version(binary: str) -> str:
    """``"1.7.1"`` from ``anvil --version``."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ChainError(f"anvil at {binary} does not run: {exc}") from exc
    m = re.search(r"anvil\s+Version:\s*(\S+)", out) or re.search(r"(\d+\.\d+\.\d+\S*)", out)
    return m.group(1) if m else out.strip()


@dataclass
class AnvilNode:
    """A running Anvil; use as a context manager or call :meth:`stop`.

    Attributes
    ----------
    url : str
        ``http://127.0.0.1:<port>``.
    ipc_path : str or None
        Its IPC socket (faster than HTTP), if started with ``ipc=True``.
    version : str
        Anvil's version (``"1.7.1"``).
    hardfork : str
    binary : str
    """

    url: str
    ipc_path: str | None
    version: str
    hardfork: str
    binary: str
    process: subprocess.Popen[bytes] = field(repr=False)
    _tmpdir: str | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        """The fastest way in: the IPC path if there is one, else the HTTP URL."""
        return self.ipc_path or self.url

    @property
    def description(self) -> str:
        return f"anvil {self.version} ({self.hardfork}) at {self.endpoint}"

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Stop the node (SIGTERM, then SIGKILL after 5 s); idempotent."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
        try:
            atexit.unregister(self.stop)
        except Exception:  # pragma: no cover
            pass

    def __enter__(self) -> "AnvilNode":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    os.setsid()  # Ctrl-C reaches Python (which stops the node), not the node directly
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


def start_anvil(binary: str | None = None, ipc: bool = False, hardfork: str = HARDFORK,
                timeout: float = 30.0, base_fee: int = 0, extra_args: tuple[str, ...] = ()) -> AnvilNode:
    """Start Anvil on a free loopback port (Prague, zero base fee and gas price, automine).

    Parameters
    ----------
    binary : str, optional
        Default :func:`anvil_binary`.
    ipc : bool
        Also serve IPC on a socket in a private temporary directory.
    hardfork : str
    base_fee : int
        Initial base fee in wei (0 for parity; another value tests fee handling).
    timeout : float
        Seconds to wait for it to listen.

    Raises
    ------
    ChainError
        No binary (``npm ci`` installs it), or it did not start (its output is quoted).
    """
    binary = binary or anvil_binary()
    if binary is None:
        raise ChainError("anvil: no binary found; run `npm ci` in the emg checkout (it installs the "
                         f"pinned @foundry-rs/anvil) or set {ANVIL_ENV}=/path/to/anvil")
    version = anvil_version(binary)
    tmpdir = tempfile.mkdtemp(prefix="emg-anvil-") if ipc else None
    ipc_path = os.path.join(tmpdir, "anvil.ipc") if tmpdir else None
    args = [binary, "--host", "127.0.0.1", "--port", "0", "--hardfork", hardfork,
            "--base-fee", str(base_fee), "--gas-price", "0", "--gas-limit", str(GAS_LIMIT),
            "--accounts", "1", "--disable-code-size-limit", "--color", "never", "--order", "fifo",
            *extra_args]
    if ipc_path:
        args += ["--ipc", ipc_path]
    try:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    except OSError as exc:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
        raise ChainError(f"anvil at {binary} does not start: {exc}") from exc
    assert proc.stdout is not None
    lines: list[str] = []
    port: list[int] = []
    ready = threading.Event()

    def drain(stream: IO[bytes]) -> None:
        # read the banner until "Listening on", then keep draining (the node logs every
        # transaction; a full pipe would block it)
        for raw in iter(stream.readline, b""):
            if not ready.is_set():
                line = raw.decode(errors="replace").rstrip()
                lines.append(line)
                m = re.search(r"Listening on [^:\s]+:(\d+)", line)
                if m:
                    port.append(int(m.group(1)))
                    ready.set()
        ready.set()

    threading.Thread(target=drain, args=(proc.stdout,), daemon=True).start()
    node = AnvilNode("", ipc_path, version, hardfork, binary, proc, tmpdir)
    atexit.register(node.stop)
    ready.wait(timeout)
    if not port:
        node.stop()
        tail = "\n".join(lines[-10:])
        raise ChainError(f"anvil did not start within {timeout:g} s (exit {proc.poll()}): {tail}")
    node.url = f"http://127.0.0.1:{port[0]}"
    if ipc_path:
        deadline = time.monotonic() + timeout
        while not os.path.exists(ipc_path):
            if time.monotonic() > deadline or proc.poll() is not None:
                node.stop()
                raise ChainError(f"anvil did not open its IPC socket {ipc_path}")
            time.sleep(0.01)
    return node


def node_info(transport: Any) -> dict[str, str]:
    """``{"client": ..., "hardfork": ...}`` as the node reports them (``""`` where it does not)."""
    from .rpc import RpcError

    out = {"client": "", "hardfork": ""}
    try:
        out["client"] = str(transport.request("web3_clientVersion"))
    except ChainError:
        pass
    try:
        info = transport.request("anvil_nodeInfo")
        if isinstance(info, dict):
            out["hardfork"] = str(info.get("hardFork") or info.get("hardfork") or "").lower()
    except (RpcError, ChainError):
        pass
    return out
