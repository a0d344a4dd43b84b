"""Take away this process's right to write files, by the kernel (Linux Landlock), except beneath given folders.

After `forbid_writes` succeeds, opening any file for writing, truncating it, creating, renaming, linking
or removing anything fails with EACCES outside the allowed folders, whatever code asks: the process
still reads everything it could read before. It cannot be undone, and it holds for every thread and
child started afterwards, so it is meant for a process forked to do one read-only job.
"""

from __future__ import annotations

import ctypes
import logging
import os
import struct
import sys

log = logging.getLogger(__name__)

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same numbers on every architecture
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

_WRITE_FILE = 1 << 1
_REMOVE_DIR, _REMOVE_FILE = 1 << 4, 1 << 5
_MAKE = sum(1 << bit for bit in range(6, 13))  # char, dir, reg, sock, fifo, block, sym
_REFER = 1 << 13  # ABI 2: rename and link across folders
_TRUNCATE = 1 << 14  # ABI 3


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 where Landlock is missing or disabled."""
    libc = _libc()
    if libc is None:
        return 0
    version = libc.syscall(
        ctypes.c_long(_CREATE_RULESET), None, ctypes.c_size_t(0), ctypes.c_ulong(_CREATE_RULESET_VERSION)
    )
    return max(int(version), 0)


def _write_rights(abi: int) -> int:
    rights = _WRITE_FILE | _REMOVE_DIR | _REMOVE_FILE | _MAKE
    if abi >= 2:
        rights |= _REFER
    if abi >= 3:
        rights |= _TRUNCATE
    return rights


def forbid_writes(allowed: list[str]) -> bool:
    """Forbid this process every write outside the folders `allowed`; False (nothing changed) where the
    kernel offers no Landlock."""
    abi = landlock_abi()
    libc = _libc()
    if abi < 1 or libc is None:
        return False
    rights = _write_rights(abi)
    attr = struct.pack("=Q", rights)  # handled_access_fs only: reads are not handled, so stay allowed
    ruleset = libc.syscall(
        ctypes.c_long(_CREATE_RULESET), ctypes.c_char_p(attr), ctypes.c_size_t(len(attr)), ctypes.c_ulong(0)
    )
    if ruleset < 0:
        log.debug("landlock_create_ruleset failed: %s", os.strerror(ctypes.get_errno()))
        return False
    try:
        for folder in allowed:
            fd = os.open(folder, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                beneath = struct.pack("=Qi", rights, fd)
                if libc.syscall(
                    ctypes.c_long(_ADD_RULE),
                    ctypes.c_long(ruleset),
                    ctypes.c_ulong(_RULE_PATH_BENEATH),
                    ctypes.c_char_p(beneath),
                    ctypes.c_ulong(0),
                ):
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule({folder})")
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, *(ctypes.c_ulong(v) for v in (1, 0, 0, 0))):
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if libc.syscall(ctypes.c_long(_RESTRICT_SELF), ctypes.c_long(ruleset), ctypes.c_ulong(0)):
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return True
