#!/usr/bin/env bash
# Creates the network CA: the one trust root of your overlay network.
#
#   certs/create-network.sh [CA_DIR] [NETWORK_NAME]
#
# CA_DIR defaults to certs/network. It will hold ca.crt (give it to every node)
# and ca.key (mode 0600: the key that admits nodes; read certs/README.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
overlay=(node "$here/../bin/overlay.js")
ca_dir="${1:-$here/network}"
name="${2:-p2p-overlay network CA}"

"${overlay[@]}" ca create --out "$ca_dir" --name "$name" --days "${CA_DAYS:-3650}"
echo
echo "Next: add nodes with  certs/add-node.sh NODE_NAME [$ca_dir]"
