# 1. Ai đã ký: chứng thư nối về chứng thư gốc của bạn và chứng nhận khoá công khai.
#    Kiểm tra tại thời điểm bắt đầu phiên, không phải hôm nay: chứng thư có thể hết hạn sau phiên.
started=$(grep -o '"started_at":"[^"]*"' manifest.json | cut -d'"' -f4)
openssl verify -attime "$(date -u -d "$started" +%s)" -CAfile "$ROOT" \
    -untrusted signer/chain.pem signer/certificate.pem   # bỏ -untrusted nếu không có chain.pem
openssl x509 -in signer/certificate.pem -noout -subject -dates
openssl x509 -in signer/certificate.pem -pubkey -noout | cmp - signer/public_key.pem && echo "key matches certificate"

# 2. Bản kê niêm phong và danh sách mã băm được ký bằng khoá đó (Ed25519).
openssl pkeyutl -verify -pubin -inkey signer/public_key.pem -rawin -in manifest.json -sigfile manifest.sig
openssl pkeyutl -verify -pubin -inkey signer/public_key.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig
#    (Khoá ECDSA: openssl dgst -sha256 -verify signer/public_key.pem -signature manifest.sig manifest.json)

# 3. Mọi tệp đều có đúng các byte đã được ký.
sha256sum -c SHA256SUMS

#    ... và không có gì khác (một tệp bị thêm vào sẽ không có trong danh sách nào).
#    (Dấu thời gian và biên nhận của máy chứng thực đến sau khi niêm phong nên không có trong
#    danh sách nào: mỗi thứ tự chứng minh, xem mục 13 và 14 của định dạng.)
find . -type f ! -name SHA256SUMS ! -name SHA256SUMS.sig ! -name manifest.json ! -name manifest.sig \
  ! -path ./manifest.tsr ! -path './chain/*.tsr' ! -path './witness/*.json' \
  | sed 's|^\./||' | sort | diff - <(cut -d' ' -f3- SHA256SUMS | sort) && echo "no extra files"

# 4. Danh sách mã băm chính là danh sách mà bản kê niêm phong đã niêm phong.
sha256sum SHA256SUMS            # so sánh với "checksums_sha256" trong manifest.json
grep -o '"checksums_sha256":"[0-9a-f]*"' manifest.json

# 5. Chuỗi không bị đứt: mỗi mắt xích ghi mã băm của mắt xích trước nó, và mã băm của
#    mắt xích cuối cùng là đầu chuỗi (head) ghi trong bản kê niêm phong.
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
