#!/bin/sh
# VMR keepalived notify hook for guest pair web, member web-1.
# Rendered by VMR; keepalived runs it as: notify.sh TYPE NAME STATE PRIORITY.
# It tells VMR's webhook about every VRRP state change so VMR knows which member
# holds the VIP. The token is read from a root-only file and handed to curl on
# stdin, so it appears neither in keepalived.conf nor in any process's argv.
set -u

URL='https://vmr.example.org:8779/v1/alarms/keepalived'
TOKEN_FILE='/etc/vmr/keepalived-notify.token'

state="${3:-UNKNOWN}"
# keepalived passes its own words, but never put unchecked input into JSON.
case "$state" in
    MASTER|BACKUP|FAULT|STOP) ;;
    *) state=UNKNOWN ;;
esac

body='{"pair": "web", "instance": "web-1", "state": "'"$state"'"}'

if [ ! -r "$TOKEN_FILE" ]; then
    logger -t vmr-keepalived-notify "token file $TOKEN_FILE unreadable; state $state not reported" 2>/dev/null
    exit 1
fi
token=$(cat "$TOKEN_FILE")

# printf is a shell builtin: the token never shows in /proc/*/cmdline.
printf 'X-VMR-Token: %s\n' "$token" | \
    curl -fsS --max-time 5 --retry 2 --retry-connrefused \
        -H @- -H 'Content-Type: application/json' \
        --data "$body" -o /dev/null "$URL"
rc=$?
if [ "$rc" -ne 0 ]; then
    logger -t vmr-keepalived-notify "POST to $URL failed (curl rc $rc) for state $state" 2>/dev/null
fi
exit "$rc"
