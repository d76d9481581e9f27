"""Crash test: SIGKILL hl7d at random moments under load, restart, check.

Promise under test: a positive ACK means the message is on disk. After every
kill and restart, each message whose AA the senders received is stored
exactly once; the store is consistent (every accepted message has its
pipeline entry, counts add up); and resending the acknowledged messages
stores nothing twice. Rounds: argv[1] (3 in CI, 20 in the long version).
"""
import random
import socket
import sys
import threading
import time
import unittest

import harness as h

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
CONNECTIONS = 4


class Sender(threading.Thread):
    def __init__(self, port, prefix):
        super().__init__(daemon=True)
        self.port, self.prefix = port, prefix
        self.acked, self.sent = [], 0

    def run(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                reader = h.FrameReader(s)
                i = 0
                while True:
                    cid = "%s-%d" % (self.prefix, i)
                    s.sendall(h.frame(h.message(cid)))
                    self.sent += 1
                    code, echoed = h.msa(reader.read(timeout=5))
                    if code == "AA" and echoed == cid:
                        self.acked.append(cid)
                    i += 1
        except (OSError, ConnectionError):
            return  # The appliance was killed.


class CrashTest(unittest.TestCase):

    def test_acknowledged_messages_survive_sigkill(self):
        rnd = random.Random(20261126)
        work = h.tmpdir()
        d = h.Hl7d(work)
        all_acked = set()
        for r in range(ROUNDS):
            d.start()
            senders = [Sender(d.port, "CR%d-%d" % (r, c)) for c in range(CONNECTIONS)]
            for s in senders:
                s.start()
            time.sleep(rnd.uniform(0.2, 1.2))
            d.kill()
            for s in senders:
                s.join(10)
            acked = [cid for s in senders for cid in s.acked]
            self.assertGreater(sum(s.sent for s in senders), 0)
            all_acked.update(acked)

            summary, rows = d.inspect()
            stored = [row["control_id"] for row in rows]
            self.assertEqual(len(stored), len(set(stored)), "a message stored twice")
            missing = all_acked - set(stored)
            self.assertFalse(missing, "acknowledged but lost after SIGKILL: %s" % sorted(missing)[:5])
            self.assertEqual(summary["messages"], len(rows))
            # Every accepted message has one pipeline entry, waiting for or
            # done with the mapping and delivery stages.
            self.assertEqual(
                summary.get("pipeline entries", 0),
                sum(summary.get("state " + s, 0)
                    for s in ("PENDING", "MAPPED", "HELD", "RETRYING", "DELIVERED")))
            self.assertTrue(all(row["ack"] == "ACCEPT" for row in rows))

        # Resending everything acknowledged stores nothing new.
        d.start()
        before, _ = d.inspect()
        with socket.create_connection(("127.0.0.1", d.port)) as s:
            reader = h.FrameReader(s)
            for cid in sorted(all_acked):
                s.sendall(h.frame(h.message(cid)))
                self.assertEqual(h.msa(reader.read()), ("AA", cid))
        self.assertEqual(d.stop(), 0)
        after, _ = d.inspect()
        self.assertEqual(after["messages"], before["messages"])
        self.assertEqual(after.get("counter duplicates", 0) - before.get("counter duplicates", 0),
                         len(all_acked))
        print("rounds=%d acknowledged=%d stored=%d" % (ROUNDS, len(all_acked), after["messages"]))


if __name__ == "__main__":
    h.main()
