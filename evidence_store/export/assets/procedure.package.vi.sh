# P1. Ai đã xuất: chứng thư của hệ thống xuất gói nối về cùng chứng thư gốc với chứng thư của
#     thiết bị. Kiểm tra tại thời điểm xuất ("taken_at" trong custody.json).
exported=$(grep -o '"taken_at": "[^"]*"' custody.json | cut -d'"' -f4)
untrusted=""; [ -s exporter/chain.pem ] && untrusted="-untrusted exporter/chain.pem"
openssl verify -attime "$(date -u -d "$exported" +%s)" -CAfile "$ROOT" $untrusted exporter/certificate.pem
openssl x509 -in exporter/certificate.pem -noout -subject -dates
openssl x509 -in exporter/certificate.pem -pubkey -noout | cmp - exporter/public_key.pem && echo "exporter key matches certificate"

# P2. Danh sách các tệp của gói được ký bằng khoá đó (Ed25519).
openssl pkeyutl -verify -pubin -inkey exporter/public_key.pem -rawin -in PACKAGE-SHA256SUMS -sigfile PACKAGE-SHA256SUMS.sig
#     (Khoá ECDSA: openssl dgst -sha256 -verify exporter/public_key.pem -signature PACKAGE-SHA256SUMS.sig PACKAGE-SHA256SUMS)

# P3. Mọi tệp đều đúng là tệp mà bên xuất đã ký (kể cả clip.json, NOT-INCLUDED.txt và
#     custody.json), không tệp nào bị thêm vào hay bị xoá đi, và chỉ có tệp và thư mục
#     (không liên kết, ống hay thiết bị; không tên nào có dấu xuống dòng hay ký tự điều khiển).
sha256sum -c --quiet PACKAGE-SHA256SUMS && echo "package files OK"
found=$(find . -type f ! -name PACKAGE-SHA256SUMS ! -name PACKAGE-SHA256SUMS.sig | sed 's|^\./||' | LC_ALL=C sort)
[ "$found" = "$(cut -d' ' -f3- PACKAGE-SHA256SUMS | LC_ALL=C sort)" ] && echo "no extra or missing files"
[ -z "$(find . ! -type f ! -type d -o -name "*[$(printf '\001-\037\177')]*")" ] && echo "only files and directories"
