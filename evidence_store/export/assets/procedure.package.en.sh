# P1. Who exported: the exporting installation's certificate chains to the same root as the
#     device's. Check it at the time of the export ("taken_at" in custody.json).
exported=$(grep -o '"taken_at": "[^"]*"' custody.json | cut -d'"' -f4)
untrusted=""; [ -s exporter/chain.pem ] && untrusted="-untrusted exporter/chain.pem"
openssl verify -attime "$(date -u -d "$exported" +%s)" -CAfile "$ROOT" $untrusted exporter/certificate.pem
openssl x509 -in exporter/certificate.pem -noout -subject -dates
openssl x509 -in exporter/certificate.pem -pubkey -noout | cmp - exporter/public_key.pem && echo "exporter key matches certificate"

# P2. The list of the package's files is signed by that key (Ed25519).
openssl pkeyutl -verify -pubin -inkey exporter/public_key.pem -rawin -in PACKAGE-SHA256SUMS -sigfile PACKAGE-SHA256SUMS.sig
#     (ECDSA keys: openssl dgst -sha256 -verify exporter/public_key.pem -signature PACKAGE-SHA256SUMS.sig PACKAGE-SHA256SUMS)

# P3. Every file is the one the exporter signed (clip.json, NOT-INCLUDED.txt and custody.json
#     too), no file was added or removed, and nothing but files and directories is here
#     (no link, pipe or device; no name with a line break or another control character).
sha256sum -c --quiet PACKAGE-SHA256SUMS && echo "package files OK"
found=$(find . -type f ! -name PACKAGE-SHA256SUMS ! -name PACKAGE-SHA256SUMS.sig | sed 's|^\./||' | LC_ALL=C sort)
[ "$found" = "$(cut -d' ' -f3- PACKAGE-SHA256SUMS | LC_ALL=C sort)" ] && echo "no extra or missing files"
[ -z "$(find . ! -type f ! -type d -o -name "*[$(printf '\001-\037\177')]*")" ] && echo "only files and directories"
