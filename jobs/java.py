"""Which Java Spark will start, checked before it starts (Spark 4 needs Java 17 or newer)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

MIN_JAVA = 17


class JavaError(RuntimeError):
    """No usable Java: the message says what was found and what to install."""


def java_binary() -> str | None:
    """The `java` Spark launches: $JAVA_HOME/bin/java when JAVA_HOME is set, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.exists() else None
    return shutil.which("java")


def java_version() -> tuple[str, int]:
    """(the version string `java -version` prints, its major number); raises JavaError when unusable."""
    binary = java_binary()
    if binary is None:
        where = f"JAVA_HOME={os.environ['JAVA_HOME']}" if os.environ.get("JAVA_HOME") else "PATH"
        raise JavaError(
            f"no java found on {where}; Spark needs Java {MIN_JAVA}+ (e.g. apt-get install openjdk-17-jre-headless)"
        )
    try:
        done = subprocess.run([binary, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise JavaError(f"{binary} -version failed: {exc}") from None
    match = re.search(r'version "([^"]+)"', done.stderr + done.stdout)
    if done.returncode != 0 or not match:
        raise JavaError(
            f"{binary} -version gave no version (exit {done.returncode}): {(done.stderr or done.stdout)[:200]}"
        )
    version = match.group(1)
    parts = version.split(".")
    major = int(parts[1] if parts[0] == "1" else re.match(r"\d+", parts[0]).group(0))
    if major < MIN_JAVA:
        raise JavaError(f"{binary} is Java {version}; Spark needs Java {MIN_JAVA}+ (set JAVA_HOME to a newer JDK)")
    return version, major
