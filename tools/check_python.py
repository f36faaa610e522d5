"""Stop `make env` early, with a clear message, when the Python it would use is not supported.

The supported versions come from ``requires-python`` in pyproject.toml (for example
``>=3.11,<3.12``, i.e. 3.11). This file runs on whatever Python `make` found, possibly an
old one, before any venv exists: it uses only the standard library and old syntax.

    python3 tools/check_python.py          # exit 0 when supported, else 1 and a message
    python3 tools/check_python.py --pyproject other/pyproject.toml
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PYPROJECT = os.path.join(os.path.dirname(HERE), "pyproject.toml")


def requires_python(pyproject_text):
    """The ``requires-python`` specifier in a pyproject.toml's text.

    >>> requires_python('[project]\\nrequires-python = ">=3.11,<3.12"\\n')
    '>=3.11,<3.12'
    """
    m = re.search(r'^\s*requires-python\s*=\s*["\']([^"\']+)["\']', pyproject_text, re.M)
    if not m:
        raise ValueError("pyproject.toml has no requires-python")
    return m.group(1).replace(" ", "")


def _version(text):
    return tuple(int(part) for part in text.split("."))


def _pad(version, n):
    return tuple(version) + (0,) * (n - len(version))


def satisfies(version, spec):
    """Whether ``version`` (a tuple such as (3, 11, 2)) meets ``spec`` (">=3.11,<3.12" and the like).

    >>> satisfies((3, 11, 2), ">=3.11,<3.12"), satisfies((3, 12, 0), ">=3.11,<3.12"), satisfies((3, 10, 14), ">=3.11")
    (True, False, False)
    """
    ops = {
        ">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
        "<": lambda a, b: a < b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
    }
    for clause in filter(None, spec.split(",")):
        m = re.match(r"(>=|<=|==|!=|>|<)(\d+(?:\.\d+)*)$", clause)
        if not m:
            raise ValueError("cannot read the version clause %r" % clause)
        bound = _version(m.group(2))
        n = max(len(bound), len(version))
        if not ops[m.group(1)](_pad(version, n), _pad(bound, n)):
            return False
    return True


def supported_minors(spec, lowest=(3, 6), highest=(3, 20)):
    """The 3.x releases that ``spec`` accepts, for the message (e.g. ['3.11']).

    >>> supported_minors(">=3.11,<3.12"), supported_minors(">=3.11,<3.13")
    (['3.11'], ['3.11', '3.12'])
    """
    return ["3.%d" % minor for minor in range(lowest[1], highest[1] + 1)
            if satisfies((3, minor, 0), spec) or satisfies((3, minor, 99), spec)]


def message(version, executable, spec, found=()):
    """What to tell someone whose Python ``version`` (at ``executable``) does not meet ``spec``.

    ``found``: other interpreters on PATH that do, as (name, version) pairs.
    """
    minors = supported_minors(spec)
    wanted = " or ".join(minors) or spec
    pick = found[0][0] if found else "python" + (minors[0] if minors else "3")
    lines = [
        "Python %s (%s) is not supported: this course needs Python %s (requires-python %s in pyproject.toml)."
        % (".".join(map(str, version[:3])), executable, wanted, spec),
    ]
    if found:
        lines.append("Supported interpreters on your PATH: %s." % ", ".join("%s (%s)" % f for f in found))
    else:
        lines.append("Install Python %s (Debian 12: apt install python3 python3-venv gives 3.11.2; "
                     "elsewhere python.org, pyenv or uv), then" % wanted)
    lines.append("pick it with PYTHON, for example:  make PYTHON=%s env   (or make PYTHON=%s lab / test)" % (pick, pick))
    lines.append("If .venv/ was made with another Python, remove it first: make clean")
    return "\n".join(lines)


def _interpreters_on_path(spec):
    import subprocess

    found, seen = [], set()
    for minor in supported_minors(spec):
        name = "python" + minor
        for folder in os.environ.get("PATH", "").split(os.pathsep):
            path = os.path.join(folder, name)
            if os.access(path, os.X_OK) and name not in seen:
                try:
                    out = subprocess.check_output([path, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
                except (OSError, subprocess.CalledProcessError):
                    continue
                if satisfies(_version(out.decode().strip()), spec):
                    found.append((name, out.decode().strip()))
                    seen.add(name)
    return found


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    pyproject = argv[argv.index("--pyproject") + 1] if "--pyproject" in argv else PYPROJECT
    with open(pyproject) as f:
        spec = requires_python(f.read())
    version = tuple(sys.version_info[:3])
    if satisfies(version, spec):
        return 0
    sys.stderr.write(message(version, sys.executable, spec, _interpreters_on_path(spec)) + "\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
