#!/bin/sh
# A stand-in for the Rust ssh-agent-proxy's container shim, written from that project's
# README (not its code) to test that its containers keep working here, unmodified: POSIX sh
# and curl with --fail, the URL used exactly as given (so a token rides in its userinfo and
# curl turns it into `Authorization: Basic`), /publickey derived by replacing /sign, the key
# file fetched when missing, no key header, namespace git, the data on stdin or in FILE.
set -eu
url=${SSH_AGENT_PROXY_URL:-http://127.0.0.1:7221/sign}
pubkey_url=${SSH_AGENT_PROXY_PUBKEY_URL:-${url%/sign}/publickey}
curl=${SSH_AGENT_PROXY_CURL:-curl}

if [ "${1:-}" = pubkey ]; then
  exec "$curl" --silent --show-error --fail "$pubkey_url"
fi
mode="" prev=""
for a in "$@"; do
  [ "$prev" = -Y ] && mode=$a
  prev=$a
done
[ "$mode" = sign ] || exec ssh-keygen "$@"

keyfile="" file=""
while [ $# -gt 0 ]; do
  case $1 in
    -Y | -n | -O) shift 2 ;;
    -f) keyfile=$2; shift 2 ;;
    -q | -U) shift ;;
    *) file=$1; shift ;;
  esac
done
if [ -n "$keyfile" ] && [ ! -e "$keyfile" ]; then
  mkdir -p "$(dirname "$keyfile")"
  "$curl" --silent --show-error --fail "$pubkey_url" >"$keyfile.tmp"
  mv "$keyfile.tmp" "$keyfile"
fi
post() {
  "$curl" --silent --show-error --fail -H 'Content-Type: application/octet-stream' \
    --data-binary @- "$url"
}
if [ -z "$file" ] || [ "$file" = - ]; then
  post
else
  post <"$file" >"$file.sig"
fi
