"""One run of tools/bench as a JSON line: the run's own last JSON line with its round added, or,
when it printed none, a line with an "error" field taken from its log.

Usage: <run's stdout> | record.py ROUND NAME PROGRAM EXIT_STATUS TIMEOUT_S LOG
"""
import json
import sys

round_, name, program, status, timeout_s, log = sys.argv[1:]
record = None
for line in sys.stdin:
    if line.startswith("{"):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            pass
if record is None:
    reason = f"timed out after {timeout_s} s" if status == "124" else \
        f"exit status {status}, no JSON line"
    lines = [l.strip() for l in open(log, errors="replace") if l.strip()]
    # The last line that names an error says most; else the last line of the log.
    errors = [l for l in lines if "error" in l.lower()]
    detail = (errors or lines or [""])[-1][:300]
    record = {"peer": name, "program": program,
              "error": f"{reason}: {detail}" if detail else reason}
record["peer"] = name
record["round"] = int(round_)
print(json.dumps(record))
