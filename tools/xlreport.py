# SPDX-License-Identifier: GPL-2.0
"""What the real-Xen report generators share (tools/xen-tick-report,
tools/xen-blk-report): the repository root, the report's stamp, reading a
guest console, and numbers read the way the awk of their shell versions
read them, so that the reports stay byte for byte what they were.

Two environment variables fix what a report otherwise takes from the
moment and the machine (tools/test-reports sets them):
  XL_REPORT_STAMP   the "DATE, COMMIT" of the first line
  XL_REPORT_NPROC   the host CPU count the text quotes
"""

import datetime
import os
import re
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_DECIMAL = r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
# A number as awk's strtod() reads the start of a string.
_NUM = re.compile(r"[ \t\n]*(" + _DECIMAL + ")")
# What awk takes for a number when it compares two values.
_STRNUM = re.compile(r"[ \t\n]*" + _DECIMAL + r"[ \t\n]*\Z")


def help_text(path):
    """The comment block after the SPDX line, "# " stripped: the usage."""
    out = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i < 2:
                continue
            if not line.startswith("#"):
                break
            out.append(re.sub(r"^# ?", "", line))
    return "".join(out)


def stamp(tool):
    """The first line of a report: the tool, the UTC minute, the commit."""
    fixed = os.environ.get("XL_REPORT_STAMP")
    if fixed is None:
        when = datetime.datetime.now(datetime.timezone.utc)
        rev = "unknown"
        try:
            r = subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                               capture_output=True, text=True, check=False)
            if r.returncode == 0 and r.stdout.strip():
                rev = r.stdout.strip()
        except OSError:
            pass
        fixed = "%s, %s" % (when.strftime("%Y-%m-%dT%H:%MZ"), rev)
    return "<!-- tools/%s, %s -->" % (tool, fixed)


def nproc():
    """The CPUs this process may run on, as nproc(1) counts them."""
    fixed = os.environ.get("XL_REPORT_NPROC")
    if fixed is not None:
        return fixed
    return str(len(os.sched_getaffinity(0)))


def read_lines(path, keep_cr=False):
    """A file's lines, without carriage returns unless keep_cr; none for
    a missing or empty file.  Bytes pass through unchanged (latin-1)."""
    if not path or not os.path.isfile(path) or os.path.getsize(path) == 0:
        return []
    with open(path, encoding="latin-1", newline="") as f:
        text = f.read()
    if not keep_cr:
        text = text.replace("\r", "")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def fields(line):
    """awk's default field splitting."""
    line = line.strip(" \t\n")
    return re.split(r"[ \t\n]+", line) if line else []


def num(s):
    """awk's string-to-number: the longest leading number, else 0."""
    m = _NUM.match(s or "")
    return float(m.group(1)) if m else 0.0


def looks_numeric(s):
    return bool(_STRNUM.match(s or ""))


def rel(path):
    """A path under the repository as the reports print it: TOP/ cut."""
    prefix = TOP + "/"
    return path[len(prefix):] if path.startswith(prefix) else path


def write(path, text):
    with open(path, "w", encoding="latin-1", newline="") as f:
        f.write(text)


def out(text):
    sys.stdout.buffer.write(text.encode("latin-1"))
    sys.stdout.flush()


def err(text):
    sys.stderr.buffer.write(text.encode("latin-1"))
    sys.stderr.flush()
