#!/usr/bin/env bash
# Triggers a Vel agent over NATS from the shell (bash's /dev/tcp, no NATS tools needed).
# Usage: ./trigger.sh 127.0.0.1 4222 <agentId> "message"   (with the nats CLI it is one line:
#   nats request vel.agent.<agentId>.run '{"input":"message"}')
set -euo pipefail
host=$1 port=$2 agent=$3 message=$4
payload=$(printf '{"input":"%s","sessionId":"shell"}' "$message")
exec 3<>"/dev/tcp/$host/$port"
read -r _info <&3
printf 'CONNECT {"verbose":false}\r\nSUB _INBOX.shell 1\r\nPUB vel.agent.%s.run _INBOX.shell %d\r\n%s\r\nPING\r\n' \
  "$agent" "${#payload}" "$payload" >&3
while read -r -t 10 line <&3; do
  case $line in
    PING*) printf 'PONG\r\n' >&3 ;;
    MSG*|HMSG*) # skip the headers of an HMSG; the JSON reply is the line starting with {
      while read -r -t 10 body <&3; do
        body=${body%$'\r'}
        if [[ $body == \{* ]]; then echo "$body"; break 2; fi
      done ;;
    -ERR*) echo "$line" >&2; exit 1 ;;
  esac
done
exec 3>&-
