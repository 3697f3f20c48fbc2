"""Triggers a Vel agent over NATS from Python with the standard library only (the NATS text
protocol over a socket). Usage: python3 trigger.py nats://127.0.0.1:4222 <agentId> "message"
Prints the worker's reply: {"runId": ...} or a typed error. With nats-py it is one
`await nc.request(f"vel.agent.{agent}.run", payload)`."""
import json
import socket
import sys
from urllib.parse import urlparse

url, agent, message = sys.argv[1], sys.argv[2], sys.argv[3]
address = urlparse(url)
sock = socket.create_connection((address.hostname or "127.0.0.1", address.port or 4222), timeout=10)
reader = sock.makefile("rb")
reader.readline()  # INFO {...}
payload = json.dumps({"input": message, "sessionId": "python"}).encode()
inbox = "_INBOX.python.1"
sock.sendall(
    b'CONNECT {"verbose":false,"pedantic":false,"name":"vel-python"}\r\n'
    + f"SUB {inbox} 1\r\n".encode()
    + f"PUB vel.agent.{agent}.run {inbox} {len(payload)}\r\n".encode()
    + payload
    + b"\r\nPING\r\n"
)
while True:
    line = reader.readline().decode().strip()
    if line.startswith("PING"):
        sock.sendall(b"PONG\r\n")
    elif line.startswith("HMSG"):  # a reply with headers: HMSG subject sid header-bytes total-bytes
        total, headers = int(line.split()[-1]), int(line.split()[-2])
        print(reader.read(total)[headers:].decode())
        break
    elif line.startswith("MSG"):
        size = int(line.split()[-1])
        print(reader.read(size).decode())
        break
    elif line.startswith("-ERR"):
        sys.exit(line)
sock.close()
