# 1. Who signed: the certificate chains to your root and certifies the key.
#    Check it at the session's start, not today: a certificate may expire after the session.
started=$(grep -o '"started_at":"[^"]*"' manifest.json | cut -d'"' -f4)
openssl verify -attime "$(date -u -d "$started" +%s)" -CAfile "$ROOT" \
    -untrusted signer/chain.pem signer/certificate.pem   # leave out -untrusted without chain.pem
openssl x509 -in signer/certificate.pem -noout -subject -dates
openssl x509 -in signer/certificate.pem -pubkey -noout | cmp - signer/public_key.pem && echo "key matches certificate"

# 2. The manifest and the checksum list are signed by that key (Ed25519).
openssl pkeyutl -verify -pubin -inkey signer/public_key.pem -rawin -in manifest.json -sigfile manifest.sig
openssl pkeyutl -verify -pubin -inkey signer/public_key.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig
#    (ECDSA keys: openssl dgst -sha256 -verify signer/public_key.pem -signature manifest.sig manifest.json)

# 3. Every file has the bytes that were signed.
sha256sum -c SHA256SUMS

#    ... and nothing else is there (an added file is not in any list).
#    (Time-stamp tokens and the witness's receipts come after the seal and are in no list:
#    each proves itself, format sections 13 and 14.)
find . -type f ! -name SHA256SUMS ! -name SHA256SUMS.sig ! -name manifest.json ! -name manifest.sig \
  ! -path ./manifest.tsr ! -path './chain/*.tsr' ! -path './witness/*.json' \
  | sed 's|^\./||' | sort | diff - <(cut -d' ' -f3- SHA256SUMS | sort) && echo "no extra files"

# 4. The checksum list is the one the manifest seals.
sha256sum SHA256SUMS            # compare with "checksums_sha256" in manifest.json
grep -o '"checksums_sha256":"[0-9a-f]*"' manifest.json

# 5. The chain is unbroken: each link names the hash of the one before it, and the last
#    link's hash is the manifest's head.
for f in chain/*.json; do
  openssl pkeyutl -verify -pubin -inkey signer/public_key.pem -rawin -in "$f" -sigfile "${f%.json}.sig" >/dev/null || echo "BAD SIGNATURE $f"
done
prev=0000000000000000000000000000000000000000000000000000000000000000
for f in chain/*.json; do
  grep -q "\"prev\":\"$prev\"" "$f" || echo "BROKEN CHAIN at $f"
  prev=$(sha256sum "$f" | cut -d' ' -f1)
done
echo "last head: $prev"; grep -o '"head":"[0-9a-f]*"' manifest.json
ls chain/*.json | wc -l;  grep -o '"length":[0-9]*' manifest.json
