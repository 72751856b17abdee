#!/usr/bin/env bash
# Adds a node to the network: a new Ed25519 identity and a certificate for it,
# signed by the network CA.
#
#   certs/add-node.sh NODE_NAME [CA_DIR] [OUT_DIR]
#
# CA_DIR defaults to certs/network, OUT_DIR to certs/nodes/NODE_NAME. Copy
# OUT_DIR to the node's machine (identity.key and node.key are secrets: scp
# them, never mail them) and point its config at the files (config/node.yaml).
# Run it where the CA key is. To keep a node's identity key from ever leaving
# its machine, create the identity there (overlay identity create prints the
# node id) and issue with the public id only:
#   overlay cert issue --ca CA_DIR --node-id ID --name NODE_NAME --out DIR
#
# Environment: NODE_DAYS (certificate lifetime, default 365), FORCE=1 (issue a
# new certificate over an existing one; the identity is kept).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
overlay=(node "$here/../bin/overlay.js")
name="${1:?usage: certs/add-node.sh NODE_NAME [CA_DIR] [OUT_DIR]}"
ca_dir="${2:-$here/network}"
out_dir="${3:-$here/nodes/$name}"

if [ ! -f "$ca_dir/ca.key" ]; then
  echo "no CA key in $ca_dir ($ca_dir/ca.key): run certs/create-network.sh first, or run this where the CA key is" >&2
  exit 2
fi
if [ -f "$out_dir/node.crt" ] && [ -z "${FORCE:-}" ]; then
  echo "$out_dir/node.crt exists: run again with FORCE=1 to issue a new certificate (the identity is kept)" >&2
  exit 2
fi
mkdir -p "$out_dir"
chmod 700 "$out_dir"
out_dir="$(cd "$out_dir" && pwd)" # the config below names absolute paths: config paths resolve from the config file's directory
if [ ! -f "$out_dir/identity.key" ]; then
  "${overlay[@]}" identity create --out "$out_dir/identity.key"
fi
"${overlay[@]}" cert issue --ca "$ca_dir" --identity "$out_dir/identity.key" --name "$name" \
  --out "$out_dir" --days "${NODE_DAYS:-365}" ${FORCE:+--force}
echo
echo "Config for $name:"
cat <<YAML
name: $name
identity: $out_dir/identity.key
tls:
  ca: $out_dir/ca.crt
  cert: $out_dir/node.crt
  key: $out_dir/node.key
YAML
