#!/usr/bin/python3
"""End-to-end throughput: MLLP in -> hl7d (store, map, deliver) -> EHR stored.

Run through tools/bench/e2e_delivery_bench.sh (builds -c opt first). Measures,
on this machine:
  1. the test EHR alone: transactions/s it stores when hl7d is not involved
     (the same Bundle shapes POSTed directly, `--concurrency` clients);
  2. hl7d -> test EHR: messages/s from the first MLLP send until the EHR has
     stored the last message's Bundle;
  3. hl7d -> file sink: the same without the EHR (the appliance's own ceiling).
Prints one JSON object per measurement and a summary.
"""
import argparse
import glob
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "ehr"))
from ehr import TestEhr  # noqa: E402


def oru(i, mrn):
    """A lab result with 5 OBX for patient `mrn` (synthetic)."""
    obr = ["OBR", "1", "", "FIL-%d^LAB" % i, "24323-8^Metabolic panel^LN", "", "",
           "20261102073000"] + [""] * 14 + ["20261102080000", "", "CH", "F"]
    obx = "".join(
        "OBX|%d|NM|%s^%s^LN||%d.%d|mmol/L|1.0-9.0|N|||F\r" % (k + 1, code, name, 3 + k, i % 10)
        for k, (code, name) in enumerate([("2345-7", "Glucose"), ("2823-3", "Potassium"),
                                           ("2951-2", "Sodium"), ("2075-0", "Chloride"),
                                           ("2028-9", "CO2")]))
    return ("MSH|^~\\&|BENCH|LAB|HL7APPLIANCE|GENHOSP|20261102081530||ORU^R01^ORU_R01|B%d|P|2.5.1\r"
            "PID|1||%s^^^GENHOSP^MR||TESTPATIENT^BENCH||19700101|F\r%s\r%s"
            % (i, mrn, "|".join(obr), obx))


def start_hl7d(hl7d, work, *extra):
    ready = os.path.join(work, "ready")
    log = open(os.path.join(work, "hl7d.log"), "ab")
    proc = subprocess.Popen([hl7d, "--data_dir=" + os.path.join(work, "data"), "--mllp_port=0",
                             "--http_port=0", "--grpc_port=0", "--ready_file=" + ready] + list(extra),
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while not os.path.exists(ready):
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError("hl7d did not start: " + open(log.name).read()[-2000:])
        time.sleep(0.05)
    ports = dict(line.split("=", 1) for line in open(ready).read().split())
    return proc, int(ports["mllp_port"])


def delivered_count(hl7d, data_dir):
    out = subprocess.run([hl7d, "inspect", "--data_dir=" + data_dir, "--limit=0"],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("state DELIVERED: "):
            return int(line.split(": ")[1])
    return 0


def run_load(hl7load, port, msg_dir, messages, connections):
    out = subprocess.run([hl7load, "--port=%d" % port, "--dir=" + msg_dir,
                          "--messages=%d" % messages, "--connections=%d" % connections,
                          "--json"], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def ehr_alone(ehr, bundles, seconds, concurrency):
    """Transactions/s the EHR stores with `concurrency` keep-alive clients."""
    done = [0] * concurrency
    stop = time.time() + seconds

    def client(k):
        conn = http.client.HTTPConnection("127.0.0.1", ehr.port, timeout=30)
        n = 0
        while time.time() < stop:
            body = bundles[(k + n * concurrency) % len(bundles)]
            conn.request("POST", ehr.base, body, {"Content-Type": "application/fhir+json"})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                raise RuntimeError("EHR answered %d" % r.status)
            n += 1
        done[k] = n

    threads = [threading.Thread(target=client, args=(k,)) for k in range(concurrency)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.time() - t0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hl7d", required=True)
    p.add_argument("--hl7load", required=True)
    p.add_argument("--messages", type=int, default=5000)
    p.add_argument("--patients", type=int, default=500)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--concurrency", type=int, default=4, help="hl7d deliveries in flight")
    args = p.parse_args()

    work = tempfile.mkdtemp(prefix="e2e-bench-")
    msg_dir = os.path.join(work, "messages")
    os.makedirs(msg_dir)
    for i in range(args.patients):
        with open(os.path.join(msg_dir, "m%04d.hl7" % i), "w") as f:
            f.write(oru(i, "MRN-B%05d" % i))
    results = {"messages": args.messages, "patients": args.patients,
               "connections": args.connections, "concurrency": args.concurrency}

    # 3. File sink: the appliance's own ceiling.
    sink_work = os.path.join(work, "sink")
    os.makedirs(sink_work)
    proc, port = start_hl7d(args.hl7d, sink_work, "--delivery_concurrency=%d" % args.concurrency)
    t0 = time.time()
    load = run_load(args.hl7load, port, msg_dir, args.messages, args.connections)
    while delivered_count(args.hl7d, os.path.join(sink_work, "data")) < args.messages:
        time.sleep(0.2)
    results["file_sink"] = {"intake_msgs_per_s": load.get("messages_per_s"),
                            "end_to_end_msgs_per_s": args.messages / (time.time() - t0)}
    proc.terminate()
    proc.wait()
    bundles = [line for f in sorted(glob.glob(os.path.join(sink_work, "data.out", "*.ndjson")))
               for line in open(f).read().splitlines()][:args.patients]

    # 1. The EHR alone.
    ehr = TestEhr(os.path.join(work, "ehr")).start()
    results["ehr_alone_tx_per_s"] = ehr_alone(ehr, bundles, 10, args.concurrency)
    ehr.restart()

    # 2. hl7d -> EHR.
    rest_work = os.path.join(work, "rest")
    os.makedirs(rest_work)
    proc, port = start_hl7d(args.hl7d, rest_work, "--ehr_url=" + ehr.url,
                            "--delivery_concurrency=%d" % args.concurrency)
    t0 = time.time()
    load = run_load(args.hl7load, port, msg_dir, args.messages, args.connections)
    intake_done = time.time() - t0
    while ehr.counters()["accepted"] < args.messages:
        time.sleep(0.2)
    elapsed = time.time() - t0
    results["ehr"] = {"intake_msgs_per_s": load.get("messages_per_s"),
                      "intake_seconds": intake_done,
                      "end_to_end_msgs_per_s": args.messages / elapsed,
                      "ehr_resources": ehr.counters()["resources"]}
    proc.terminate()
    proc.wait()
    ehr.stop()
    print(json.dumps(results, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
