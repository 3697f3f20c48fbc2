"""A Vel client in plain Python 3 (no packages): the NATS text protocol over a socket.

Triggers a run of an agent, follows its stream parts, approves every approval request, and prints
a JSON summary when the run's `finish` part arrives. Usage:
    python3 vel_client.py <host> <port> <prefix> <agentId> <runId> <input>
"""
import json
import socket
import sys


class Nats:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.buffer = b""
        info = self.line()
        assert info.startswith(b"INFO "), info
        connect = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True,
                   "protocol": 1, "name": "vel-python", "lang": "python3", "version": "0"}
        self.send(b"CONNECT " + json.dumps(connect).encode() + b"\r\n")
        self.ping()

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def exactly(self, size):
        while len(self.buffer) < size + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size + 2:]
        return data

    def ping(self):
        """Round trip: the server has processed everything sent before."""
        self.send(b"PING\r\n")
        while True:
            message = self.next()
            if message is None:
                return

    def sub(self, subject, sid):
        self.send(f"SUB {subject} {sid}\r\n".encode())

    def pub(self, subject, payload, reply=None):
        data = json.dumps(payload).encode()
        head = f"PUB {subject} {reply} {len(data)}" if reply else f"PUB {subject} {len(data)}"
        self.send(head.encode() + b"\r\n" + data + b"\r\n")

    def next(self):
        """The next message as (subject, reply, headers, payload); None on PONG."""
        while True:
            line = self.line()
            if line == b"PING":
                self.send(b"PONG\r\n")
            elif line == b"PONG":
                return None
            elif line.startswith(b"+OK") or line.startswith(b"INFO"):
                continue
            elif line.startswith(b"-ERR"):
                raise RuntimeError(line.decode())
            elif line.startswith(b"MSG "):
                parts = line.decode().split(" ")
                subject, reply = parts[1], (parts[3] if len(parts) == 5 else None)
                return subject, reply, {}, self.exactly(int(parts[-1]))
            elif line.startswith(b"HMSG "):
                parts = line.decode().split(" ")
                subject, reply = parts[1], (parts[3] if len(parts) == 6 else None)
                header_size, total = int(parts[-2]), int(parts[-1])
                raw = self.exactly(total)
                headers = {}
                for header in raw[:header_size].decode().split("\r\n")[1:]:
                    if ":" in header:
                        key, value = header.split(":", 1)
                        headers[key.strip()] = value.strip()
                return subject, reply, headers, raw[header_size:]


def main():
    host, port, prefix, agent_id, run_id, text = sys.argv[1:7]
    nats = Nats(host, int(port))
    inbox = "_INBOX.vel_python_" + run_id
    nats.sub(f"{prefix}.run.{run_id}.events", 1)
    nats.sub(f"{prefix}.run.{run_id}.human", 2)
    nats.sub(inbox + ".>", 3)
    nats.ping()
    nats.pub(f"{prefix}.agent.{agent_id}.run", {"input": text, "runId": run_id}, reply=inbox + ".trigger")
    summary = {"runId": None, "types": [], "positions": [], "headers": [], "approved": [], "replies": []}
    while True:
        message = nats.next()
        if message is None:
            continue
        subject, _reply, headers, payload = message
        body = json.loads(payload)
        if subject == inbox + ".trigger":
            if "error" in body:
                print(json.dumps({"error": body["error"]}))
                return 1
            summary["runId"] = body["runId"]
        elif subject.endswith(".events"):
            summary["types"].append(body["part"]["type"])
            summary["positions"].append(body["position"])
            summary["headers"].append(headers["Vel-Position"])
            if body["part"]["type"] == "finish":
                break
        elif subject.endswith(".human"):
            request = body["request"]
            if request["kind"] == "approval":
                nats.pub(f"{prefix}.run.{run_id}.human.reply",
                         {"type": "approve", "toolCallId": request["requestId"], "by": "python"},
                         reply=inbox + ".approve")
                summary["approved"].append(request["requestId"])
        elif subject == inbox + ".approve":
            summary["replies"].append(body)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
