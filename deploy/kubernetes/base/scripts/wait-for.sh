#!/bin/bash
# Init step of the whirl pods: waits until the store and the bus accept TCP connections, so that a
# fresh cluster starts without a round of crash loops while PostgreSQL and NATS come up.
# Usage: wait-for.sh VARIABLE...  where each environment variable holds a URL
# (postgres://user:pass@host:5432/db, nats://user:pass@host:4222,nats://host2:4222); names rather
# than URLs keep passwords off the command line. Only the first server of a comma-separated list
# is waited for. Never prints credentials.
set -u

# Prints "host port" of the first server in URL $1, port $2 when the URL has none.
target() {
    local rest=${1#*://}
    rest=${rest%%,*}
    rest=${rest##*@}
    rest=${rest%%/*}
    rest=${rest%%\?*}
    case $rest in
    \[*\]:*) local h=${rest%]:*}; echo "${h#[} ${rest##*]:}" ;;
    \[*\]) local h=${rest#[}; echo "${h%]} $2" ;;
    *:*) echo "${rest%:*} ${rest##*:}" ;;
    *) echo "$rest $2" ;;
    esac
}

default_port() {
    case $1 in
    postgres://* | postgresql://*) echo 5432 ;;
    nats://* | tls://*) echo 4222 ;;
    *) echo 0 ;;
    esac
}

for var in "$@"; do
    url=${!var:-}
    if [ -z "$url" ]; then
        echo "wait-for: $var is not set" >&2
        exit 2
    fi
    read -r host port <<<"$(target "$url" "$(default_port "$url")")"
    if [ -z "$host" ] || [ "$port" = 0 ]; then
        echo "wait-for: cannot take a host and port from $var (a ${url%%://*} URL)" >&2
        exit 2
    fi
    tries=0
    # shellcheck disable=SC2016 # $0 and $1 expand in the inner bash
    until timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null; do
        if [ $((tries % 10)) = 0 ]; then
            echo "wait-for: $host:$port does not accept connections yet"
        fi
        tries=$((tries + 1))
        sleep 2
    done
    echo "wait-for: $host:$port is up"
done
