#!/usr/bin/python3
"""MLLP test server for the hl7send and hl7load black-box tests (stdlib only).

  test_mllp_server.py --port-file FILE [--record FILE]
                      [--tls-cert PEM --tls-key PEM [--client-ca PEM]]

Listens on 127.0.0.1 port 0 and writes the port to --port-file once ready.
Answers each framed message with an ACK chosen by its control id (MSH-10):
"AE..." gets AE, "AR..." gets AR, "SLOW..." gets no answer at all, anything
else AA; MSA-2 is the MSH-10. With --record, appends one JSON line per message
received: {"conn": N, "control_id": "...", "payload": "..."} (payload decoded
as Latin-1, so every byte survives). With --tls-cert the listener speaks TLS;
--client-ca makes a client certificate signed by that CA mandatory. Runs until
killed.
"""
import argparse
import json
import os
import socket
import socketserver
import ssl
import sys
import threading

START, END, CR = b"\x0b", b"\x1c", b"\r"

record_lock = threading.Lock()
conn_counter = [0]


def control_id(payload):
    first = payload.split(CR, 1)[0]
    if not first.startswith(b"MSH") or len(first) < 4:
        return ""
    fields = first.split(first[3:4])
    return fields[9].decode("latin-1") if len(fields) > 9 else ""


def ack_for(cid):
    if cid.startswith("SLOW"):
        return None
    code = "AE" if cid.startswith("AE") else "AR" if cid.startswith("AR") else "AA"
    return ("MSH|^~\\&|TESTSRV|TEST|SENDER|TEST|20261102120000||ACK|ACK-%s|P|2.5\r"
            "MSA|%s|%s\r" % (cid, code, cid)).encode("latin-1")


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        if self.server.tls_context is not None:
            try:
                sock = self.server.tls_context.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError) as e:
                print("test_mllp_server: TLS handshake failed: %s" % e,
                      file=sys.stderr)
                return
        with record_lock:
            conn_counter[0] += 1
            conn = conn_counter[0]
        buf = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                buf += chunk
                while True:
                    start = buf.find(START)
                    if start < 0:
                        buf = b""
                        break
                    end = buf.find(END + CR, start)
                    if end < 0:
                        buf = buf[start:]
                        break
                    payload = buf[start + 1:end]
                    buf = buf[end + 2:]
                    cid = control_id(payload)
                    if self.server.record:
                        line = json.dumps({"conn": conn, "control_id": cid,
                                           "payload": payload.decode("latin-1")})
                        with record_lock:
                            with open(self.server.record, "a") as f:
                                f.write(line + "\n")
                    ack = ack_for(cid)
                    if ack is not None:
                        sock.sendall(START + ack + END + CR)
        except (ssl.SSLError, OSError) as e:
            print("test_mllp_server: connection %d: %s" % (conn, e),
                  file=sys.stderr)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--record")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--client-ca")
    args = parser.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    server.record = args.record
    server.tls_context = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(args.client_ca)
        server.tls_context = ctx
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
