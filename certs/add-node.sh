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
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
overlay=(node "$here/../bin/overlay.js")
name="${1:?usage: certs/add-node.sh NODE_NAME [CA_DIR] [OUT_DIR]}"
ca_dir="${2:-$here/network}"
out_dir="${3:-$here/nodes/$name}"

if [ ! -f "$ca_dir/ca.key" ]; then
  echo "no CA in $ca_dir: run certs/create-network.sh first" >&2
  exit 2
fi
mkdir -p "$out_dir"
chmod 700 "$out_dir"
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
