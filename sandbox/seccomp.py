"""A seccomp filter for workers, through libseccomp (ctypes, no extra package).

Installed after start-up, when the worker has imported everything it needs:
from then on it cannot create processes, open sockets, open files, trace or
signal other processes, or change its resource limits. A refused system call
fails with EPERM (a Python ``PermissionError``) instead of killing the worker,
so the run reports a clear error and the worker keeps serving.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno

SCMP_ACT_ALLOW = 0x7FFF0000

DENIED_SYSCALLS = (
    # process creation and replacement
    "fork", "vfork", "clone", "clone3", "execve", "execveat",
    # network
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    # files
    "open", "openat", "openat2", "creat", "open_by_handle_at", "truncate", "unlink", "unlinkat",
    "rename", "renameat", "renameat2", "mkdir", "mkdirat", "symlink", "symlinkat", "link", "linkat",
    "chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown", "fchownat",
    # other processes, privileges, limits, kernel surface
    "ptrace", "process_vm_readv", "process_vm_writev", "kill", "tkill", "tgkill",
    "setrlimit", "prlimit64", "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
    "mount", "umount2", "unshare", "setns", "chroot", "pivot_root", "personality", "keyctl",
    "add_key", "request_key", "bpf", "userfaultfd", "perf_event_open", "io_uring_setup",
)  # fmt: skip


def _errno_action(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


def load_library() -> ctypes.CDLL | None:
    """libseccomp, or None where it is not installed. Call before the process
    is locked down: loading a library opens files."""
    for name in ("libseccomp.so.2", ctypes.util.find_library("seccomp")):
        if name:
            try:
                return ctypes.CDLL(name, use_errno=True)
            except OSError:
                continue
    return None


def install(lib: ctypes.CDLL | None) -> str:
    """Load the filter into this process. Returns ``"on"``, or ``"unavailable"``
    when libseccomp is missing (the other layers still apply)."""
    if lib is None:
        return "unavailable"
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.restype = ctypes.c_int
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add.restype = ctypes.c_int
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        raise OSError("seccomp_init failed")
    try:
        deny = _errno_action(errno.EPERM)
        for syscall in DENIED_SYSCALLS:
            number = lib.seccomp_syscall_resolve_name(syscall.encode())
            if number < 0:  # not on this architecture
                continue
            result = lib.seccomp_rule_add(ctypes.c_void_p(ctx), ctypes.c_uint32(deny), ctypes.c_int(number), 0)
            if result < 0:
                raise OSError(-result, f"seccomp_rule_add({syscall}) failed")
        result = lib.seccomp_load(ctypes.c_void_p(ctx))
        if result < 0:
            raise OSError(-result, "seccomp_load failed")
    finally:
        lib.seccomp_release(ctypes.c_void_p(ctx))
    return "on"
