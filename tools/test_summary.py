#!/usr/bin/python3
"""Counts test cases from a `bazel test` run.

Usage: test_summary.py BAZEL_TEST_LOG TESTLOGS_DIR

Reads the per-target result lines of the log and each target's test.xml (gtest
writes one test case per TEST; Bazel writes one per target for other tests).
A target that failed to build, timed out or failed without a test.xml counts as
one failed case. Prints "N passed, N failed" and exits 1 if anything failed or
no test ran.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

RESULT = re.compile(
    r"^(//\S+)\s+(?:\(cached\)\s+)?(PASSED|FAILED TO BUILD|FAILED|TIMEOUT|"
    r"NO STATUS|FLAKY|INCOMPLETE|REMOTE FAILURE|SKIPPED)\b")


def count_xml(path):
    passed = failed = 0
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        if case.get("status") == "notrun" or case.find("skipped") is not None:
            continue
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        else:
            passed += 1
    return passed, failed


def main():
    log, testlogs = sys.argv[1], sys.argv[2]
    passed = failed = 0
    with open(log, errors="replace") as f:
        for line in f:
            m = RESULT.match(line.strip())
            if not m:
                continue
            target, status = m.groups()
            if status == "SKIPPED":
                continue
            pkg, _, name = target[2:].partition(":")
            xml = os.path.join(testlogs, pkg, name, "test.xml")
            p = fl = 0
            if status in ("PASSED", "FAILED", "FLAKY") and os.path.exists(xml):
                try:
                    p, fl = count_xml(xml)
                except ET.ParseError:
                    p, fl = 0, 0
            if status in ("PASSED", "FLAKY"):
                passed += max(p, 1) if fl == 0 else p
                failed += fl
            else:
                passed += p
                failed += max(fl, 1)
            if status not in ("PASSED", "FLAKY"):
                print(f"FAILED: {target} ({status})")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
