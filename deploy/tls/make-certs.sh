#!/usr/bin/env bash
# A development CA and certificates for TLS / mTLS between the mesh's services (docs/deploy.md, "Security").
#
#   deploy/tls/make-certs.sh [DIR]        (default DIR: deploy/tls/certs, ignored by git)
#
# Writes, as PEM (keys unencrypted PKCS#8, EC P-256; certificates valid 825 days):
#   ca.crt, ca.key          the mesh's CA (keep ca.key out of the cluster)
#   server.crt, server.key  the services' certificate: serverAuth + clientAuth, so a service also presents it when it
#                           calls another one (mTLS). SANs: localhost, 127.0.0.1, ::1 and model-service, sae-service,
#                           vector-service, gateway (also as <name>.<namespace>, <name>.<namespace>.svc and
#                           <name>.<namespace>.svc.cluster.local; namespace from $STEERING_NAMESPACE, default
#                           steering-mesh) plus gateway-headless
#   client.crt, client.key  a client certificate (clientAuth, CN steer-client) for steer, grpcurl, ghz
# Existing files are kept: delete DIR to start over. Needs openssl (1.1.1 or newer).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${1:-$here/certs}"
ns="${STEERING_NAMESPACE:-steering-mesh}"
days="${CERT_DAYS:-825}"
command -v openssl >/dev/null || { echo "make-certs.sh: openssl is not on PATH" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
umask 077

key() { [ -f "$1" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

if [ ! -f ca.crt ]; then
  key ca.key
  openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/O=steering-mesh/CN=steering-mesh dev CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
fi

sans="DNS:localhost,IP:127.0.0.1,IP:::1,DNS:gateway-headless,DNS:gateway-headless.$ns.svc"
for s in model-service sae-service vector-service gateway; do
  sans="$sans,DNS:$s,DNS:$s.$ns,DNS:$s.$ns.svc,DNS:$s.$ns.svc.cluster.local"
done

# issue NAME CN EXTENDED_KEY_USAGE [SANS]
issue() {
  local name="$1" cn="$2" eku="$3" san="${4:-}"
  [ -f "$name.crt" ] && return 0
  key "$name.key"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [ -z "$san" ] || echo "subjectAltName=$san"
  } > "$name.ext"
  openssl req -new -key "$name.key" -subj "/O=steering-mesh/CN=$cn" -out "$name.csr"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days "$days" \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

issue server steering-mesh serverAuth,clientAuth "$sans"
issue client steer-client clientAuth
chmod 644 ./*.crt
chmod 600 ./*.key
echo "certificates in $dir: ca.crt, server.crt/server.key (services), client.crt/client.key (steer, grpcurl)"
