#!/bin/sh
# Kiểm tra thủ công một phiên ghi sealroom (docs/evidence-format.md, mục 8) bằng openssl 3.0
# trở lên, sha256sum và các công cụ POSIX (sh, grep, sed, awk, tr, wc, od, iconv, find, sort).
# Chạy bằng bất kỳ shell POSIX nào (sh, dash, bash) trong thư mục của phiên ghi, chỉ rõ chứng
# thư gốc mà chính bạn được cung cấp, không bao giờ lấy từ phiên ghi:
#
#     ROOT=/duong/dan/chung-thu-goc.pem sh procedure.sh
#
# ROOT là chứng thư CA (PEM) mà chứng thư của thiết bị phải nối về, hoặc, với thiết bị không
# có chứng thư, khoá công khai (PEM) của nó, được ghim. Với một đoạn trích, đặt thêm
# CLIP=../../clip.json: các đoạn đã niêm phong được liệt kê bên cạnh trong NOT-INCLUDED.txt
# có thể vắng mặt, và chỉ những đoạn đó. Khoá mà gói mang theo tự nó không chứng minh gì: ghim
# chúng bằng dấu vân tay do chủ của chúng công bố, WITNESS_FP=... (khoá của nhân chứng, hoặc
# WITNESS=tệp khoá) và TSA_FP=... (chứng thư gốc của đơn vị cấp dấu thời gian, hoặc TSA=tệp
# chứng thư gốc đó, để kiểm tra các dấu thời gian của phiên ghi). Ghim sai là KHÔNG NGUYÊN VẸN.
#
# Mỗi bước cho biết nó đã kiểm tra gì. Lỗi đầu tiên dừng quy trình, nêu tệp và lý do.
# Mã thoát: 0 nguyên vẹn, 1 không nguyên vẹn (bị sửa, chưa hoàn tất hoặc không tin cậy),
# 2 không chạy được.

set -u -f # -f: không mở rộng tên tệp; tên và giá trị chỉ là dữ liệu
LC_ALL=C
export LC_ALL # byte đúng như được lưu: grep, sed, sort và tr không giải mã văn bản

say() { printf '%s\n' "$*"; }
fail() { # TỆP LÝ_DO: lỗi đầu tiên; không kiểm tra gì sau nó
  say ""
  say "RESULT: NOT INTACT"
  say "  file:   $1"
  say "  reason: $2"
  exit 1
}
usage() {
  say "procedure: $*" >&2
  exit 2
}
sha() { # TỆP: SHA-256 của nó, trong $digest
  set -- $(sha256sum <"$1")
  digest=$1
}
six() { six=$((1000000 + $1)) && six=${six#1}; } # N thành sáu chữ số, trong $six

# -- JSON chuẩn tắc trông như thế nào (mục 3 của định dạng) ------------------------------------
S='"([^"\\]|\\["\\bfnrt]|\\u00(0[0-7bef]|1[0-9a-f]))*"' # một chuỗi, thoát ký tự đúng như JSON
N='(0|[1-9][0-9]{0,17})'                                # một số nguyên dưới 10^18
P='[1-9][0-9]{0,17}'                                    # một số dương
H='"[0-9a-f]{64}"'                                      # một SHA-256
T='"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z"' # một thời điểm UTC
ID='"s-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}"'
# -- hình dạng một mắt xích (mục 4): đúng các khoá này, theo thứ tự, không gì khác -------------
MEDIA='\{"audio_codec":"aac","channels":'$P',"container":"mp4","fps":'$P',"height":'$P
MEDIA=$MEDIA',"sample_rate":'$P',"segment_seconds":'$P',"video_codec":"h264","width":'$P'\}'
NAMES='\[('$S'(,'$S')*)?\]'
PERSON='\{"name":'$S',"role":'$S'\}'
META='\{"accused":'$NAMES',"case_number":'$S',"investigators":'$NAMES',"others_present":\[('
META=$META$PERSON'(,'$PERSON')*)?\],"room":'$S',"timezone":'$S'(,"unit":'$S')?\}'
SIGNER='\{"algorithm":"(ed25519|ecdsa-p256-sha256)"(,"certificate_sha256":'$H')?'
SIGNER=$SIGNER',"public_key_sha256":'$H'\}'
EVENT='\{"media":'$MEDIA',"metadata":'$META',"signer":'$SIGNER',"type":"session_started"\}'
EVENT=$EVENT'|\{"reason":'$S',"type":"(paused|resumed|stopped|clock_skew)"\}'
EVENT=$EVENT'|\{("ended_at":'$T',)?"reason":'$S',"type":"interrupted"\}'
EVENT=$EVENT'|\{"device":'$S',"reason":'$S',"type":"device_lost"\}'
EVENT=$EVENT'|\{"device":'$S',"type":"device_restored"\}'
SEGMENT='\{"duration_us":'$P',"index":'$N',"name":"[0-9]{6}\.mp4","sha256":'$H',"size":'$P
SEGMENT=$SEGMENT',"start_us":'$N'\}'
TAIL=',"seq":'$N',"session":'$ID',"time":'$T',"v":1\}'
LINK='\{"event":('$EVENT'),"kind":"event","prev":'$H$TAIL
LINK=$LINK'|\{"kind":"segment","prev":'$H',"segment":'$SEGMENT$TAIL
# Khoảng trắng Unicode, dạng byte UTF-8: không tên hay lý do nào bắt đầu hoặc kết thúc bằng nó.
WS=" |$(printf '\302')[$(printf '\205\240')]|$(printf '\341\232\200')|$(printf '\342\201\237')"
WS="$WS|$(printf '\342\200')[$(printf '\200-\212\250\251\257')]|$(printf '\343\200\200')"
# Các ký tự của một chuỗi, mỗi chuỗi một dòng sau chữ "x": mỗi chuỗi thoát thành một ký tự
# (khoảng trắng thành dấu cách), để độ dài đếm theo ký tự và khoảng trắng hiện ra.
UNESCAPE='s/^"/x/; s/"$//; s/\\\\/x/g; s/\\([tnrf]|u000b)/ /g; s/\\(["b]|u00[0-9a-f]{2})/x/g'

canonical_text() { # TỆP: UTF-8 trên một dòng, không byte điều khiển (JSON chuẩn tắc thoát chúng)
  [ "$(tr -d '\040-\377' <"$1" | wc -c)" -eq 0 ] && iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1
}

texts_ok() { # GIỚI_HẠN JSON: mọi chuỗi dài 1 đến GIỚI_HẠN ký tự, không khoảng trắng ở hai đầu
  texts=$(printf '%s' "$2" | grep -oE "$S" | sed -E "$UNESCAPE")
  ! printf '%s\n' "$texts" | grep -Eq "^x\$|^x($WS)|($WS)\$" &&
    printf '%s\n' "$texts" | tr -d '\200-\277' | awk -v most="$(($1 + 1))" '
      length($0) > most { long = 1 } END { exit long }'
}

when() { # THỜI_ĐIỂM: một thời điểm có thật; đặt when_key (để so sánh), when_epoch, when_micro
  t=${1#\"} ifs=$IFS
  IFS=-T:.Z
  set -- ${t%\"}
  IFS=$ifs
  y=$((1$1 - 10000)) mo=$((1$2 - 100)) d=$((1$3 - 100))
  h=$((1$4 - 100)) mi=$((1$5 - 100)) s=$((1$6 - 100))
  case $mo in
  1 | 3 | 5 | 7 | 8 | 10 | 12) days=31 ;;
  4 | 6 | 9 | 11) days=30 ;;
  2) days=$((28 + (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))) ;;
  *) return 1 ;;
  esac
  [ "$y" -ge 1 ] && [ "$d" -ge 1 ] && [ "$d" -le "$days" ] || return 1
  [ "$h" -le 23 ] && [ "$mi" -le 59 ] && [ "$s" -le 59 ] || return 1
  when_key=$(((y * 10000 + mo * 100 + d) * 1000000 + h * 10000 + mi * 100 + s))-$7
  a=$(((14 - mo) / 12)) yy=$((y + 4800 - (14 - mo) / 12)) mm=$((mo + 12 * ((14 - mo) / 12) - 3))
  jdn=$((d + (153 * mm + 2) / 5 + 365 * yy + yy / 4 - yy / 100 + yy / 400 - 32045))
  when_epoch=$(((jdn - 2440588) * 86400 + h * 3600 + mi * 60 + s)) when_micro=$7
}

before() { # KHOÁ KHOÁ: thời điểm thứ nhất có sớm hơn thứ hai không
  [ "${1%-*}" -lt "${2%-*}" ] || { [ "${1%-*}" -eq "${2%-*}" ] && [ "1${1#*-}" -lt "1${2#*-}" ]; }
}

signed() { # TỆP CHỮ_KÝ: khoá của thiết bị đã ký đúng các byte này (mục 5)
  if [ "$alg" = ed25519 ]; then
    openssl pkeyutl -verify -pubin -inkey signer/public_key.pem -rawin -in "$1" \
      -sigfile "$2" >/dev/null 2>&1
  else
    openssl dgst -sha256 -verify signer/public_key.pem -signature "$2" "$1" >/dev/null 2>&1
  fi
}

count_file() { # TỆP [MÃ_BĂM]: một tệp của phiên ghi, như SHA256SUMS phải liệt kê
  [ $# -eq 2 ] && digest=$2 || sha "$1"
  listed="$listed$1 $digest
"
}

# -- 0. Kiểm tra cái gì, và theo chứng thư gốc nào ------------------------------------------
[ -n "${ROOT:-}" ] && [ -f "$ROOT" ] || usage "set ROOT to the trust root you were given"
case $(openssl version) in
"OpenSSL "[3-9].* | "OpenSSL "[1-9][0-9]*) ;;
*) usage "openssl 3.0 or newer is needed, not $(openssl version)" ;;
esac
session=$(basename "$PWD")
printf '%s\n' "$session" | grep -Eqx 's-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}' ||
  usage "run it in the session's directory, sessions/<session id>/"
# Thủ tục này chưa kiểm tra phiên ghi theo rãnh (passthrough, mục 15 của định dạng): nó nói
# rõ như vậy, thay vì gọi một phiên nguyên vẹn là bị can thiệp.
if [ -f chain/000000.json ] && grep -q '"mode":"passthrough"' chain/000000.json; then
  usage "this session is recorded in tracks (passthrough); this procedure does not check them yet: use verify.py (or sealroom verify)"
fi
if grep -q -- '-----BEGIN CERTIFICATE-----' "$ROOT"; then
  root_cert=$ROOT root_key=""
  openssl x509 -in "$ROOT" -noout 2>/dev/null || usage "$ROOT is not a readable certificate"
  say "Trust root:  $ROOT: $(openssl x509 -in "$ROOT" -noout -subject)"
  say "  $(openssl x509 -in "$ROOT" -noout -fingerprint -sha256)"
else
  openssl pkey -pubin -in "$ROOT" -noout 2>/dev/null || usage "$ROOT is no certificate or key"
  root_cert="" root_key=$(openssl pkey -pubin -in "$ROOT" -outform DER | sha256sum | cut -c1-64)
  say "Trust root:  $ROOT: a pinned public key, SHA-256 of its DER $root_key"
fi
say "  Compare it with the one the procuracy publishes: the root decides who is trusted."
say "Session:     $session"
left_out=""
if [ -n "${CLIP:-}" ]; then # đoạn trích: những gì nó bỏ ra, theo gói đã ký
  left_out=" $(tr '\n' ' ' <"$(dirname "$CLIP")/NOT-INCLUDED.txt") " ||
    usage "no NOT-INCLUDED.txt beside $CLIP"
  for name in $left_out; do
    ! grep -q "\"name\":\"${name#segments/}\"" "$CLIP" ||
      fail "$name" "listed as not included, but the clip covers it"
  done
fi

# -- Trước bước 1: chỉ tệp và thư mục, không tên nào có ký tự điều khiển ---------------------
# Trước khi đọc tên nào như một dòng: tên chứa dấu xuống dòng sẽ đọc thành hai. Tên trong
# thông báo được thoát (xuống dòng thành \n, ký tự điều khiển khác thành \xHH, \ thành \\).
ESCAPE='{ s = ""
  for (i = 1; i <= length($0); i += 3) {
    c = substr($0, i, 1) * 64 + substr($0, i + 1, 1) * 8 + substr($0, i + 2, 1)
    if (c == 10) s = s "\\n"; else if (c == 9) s = s "\\t"; else if (c == 13) s = s "\\r"
    else if (c == 92) s = s "\\\\"; else if (c < 32 || c == 127) s = s sprintf("\\x%02x", c)
    else s = s sprintf("%c", c)
  }
  print s }'
odd=$(find . -name "*[$(printf '\001-\037\177')]*" -exec sh -c '
  for p; do printf "%s" "${p#./}" | od -An -v -to1 | tr -d " \n"; echo; done' sh {} + |
  sort | sed -n 1p)
[ -z "$odd" ] || fail "$(printf '%s\n' "$odd" | awk "$ESCAPE")" "a name with a line break or \
another control character is never part of a session or package"
# Chỉ lstat (find không có -L): không bao giờ đi theo liên kết tượng trưng, ra ngoài phiên
# ghi hay tới một tệp trông như tệp đã niêm phong.
odd=$(find . ! -type f ! -type d | sed 's|^\./||' | sort | sed -n 1p)
if [ -n "$odd" ]; then
  what="a device"
  if [ -L "$odd" ]; then what="a symbolic link"; elif [ -p "$odd" ]; then
    what="a named pipe (FIFO)"
  elif [ -S "$odd" ]; then what="a socket"; fi
  fail "$(printf '%s' "$odd" | od -An -v -to1 | tr -d ' \n' | awk "$ESCAPE")" "$what, not a \
regular file: only files and directories are evidence, and a link is never followed"
fi

# -- 1. Tệp của bên ký: khoá (Ed25519 hoặc ECDSA P-256) và các chứng thư ----------------------
listed=""
[ -f signer/public_key.pem ] || fail signer/public_key.pem "missing"
count_file signer/public_key.pem
key=$(openssl pkey -pubin -in signer/public_key.pem -noout -text 2>/dev/null) ||
  fail signer/public_key.pem "not a PEM public key"
case $key in
ED25519*) alg=ed25519 ;;
*"NIST CURVE: P-256"*) alg=ecdsa-p256-sha256 ;;
*) fail signer/public_key.pem "unsupported signing key type (expected Ed25519 or ECDSA P-256)" ;;
esac
key_sha=$(openssl pkey -pubin -in signer/public_key.pem -outform DER | sha256sum | cut -c1-64)
cert="" untrusted=""
if [ -f signer/certificate.pem ]; then
  cert=signer/certificate.pem
  count_file "$cert"
  [ "$(grep -c -- '-----BEGIN CERTIFICATE-----' "$cert")" -eq 1 ] ||
    fail "$cert" "expected exactly one certificate"
  openssl x509 -in "$cert" -noout 2>/dev/null || fail "$cert" "unreadable certificate"
fi
if [ -f signer/chain.pem ]; then # chứng thư trung gian, chỉ dùng (-untrusted) khi có
  count_file signer/chain.pem
  [ "$(grep -c -- '-----BEGIN CERTIFICATE-----' signer/chain.pem)" -ge 1 ] &&
    openssl storeutl -noout -certs signer/chain.pem >/dev/null 2>&1 ||
    fail signer/chain.pem "unreadable certificate"
  untrusted="-untrusted signer/chain.pem"
fi
say "1. Signer:   $alg key, SHA-256 of its DER $key_sha"

# -- 2. Mọi mắt xích: đã ký, chuẩn tắc, đúng dạng, đúng vị trí, đúng thứ tự thời gian ---------
n=0 head=0000000000000000000000000000000000000000000000000000000000000000 last_key=""
state=new lost="" pauses="" open_pause=0 outages=0 segments="" media_us=0 count=0
six 0
while [ -f "chain/$six.json" ]; do
  f=chain/$six.json sig=chain/$six.sig
  count_file "$f"
  link_sha=$digest
  if [ ! -f "$sig" ]; then
    six $((n + 1))
    [ -f "chain/$six.json" ] || [ -f manifest.json ] ||
      fail "$f" "the last link was never signed (cut off while sealing): not sealed"
    fail "$sig" "signature missing"
  fi
  count_file "$sig"
  signed "$f" "$sig" || fail "$f" "signature does not verify: the signed bytes were altered"
  # Dạng: JSON chuẩn tắc của một trong các hình dạng trên, mọi giá trị đúng dạng chính xác.
  canonical_text "$f" && grep -Eqx "$LINK" "$f" || fail "$f" "not canonical JSON of a valid link"
  IFS= read -r body <"$f" || [ -n "$body" ]
  set -- $(printf '%s' "$body" |
    sed -E 's/^.*"prev":"([0-9a-f]*)".*,"seq":([0-9]*),"session":"([^"]*)","time":("[^"]*"),"v":1\}$/\1 \2 \3 \4/')
  prev=$1 seq=$2 of=$3 time=$4
  when "$time" || fail "$f" "malformed link: time $time is no real time"
  reason="" device=""
  case $body in
  '{"kind":"segment"'*) ;;
  *) # văn bản của sự kiện: lý do, thiết bị, và ở mắt xích 0 là các tên trong metadata
    event=$(printf '%s' "$body" | sed -E 's/^\{"event":(.*),"kind":"event",.*$/\1/')
    case $event in
    '{"media":'*)
      set -- $(printf '%s' "$event" | sed -E 's/^\{"media":\{"audio_codec":"aac","channels":([0-9]*),"container":"mp4","fps":([0-9]*),"height":([0-9]*),"sample_rate":([0-9]*),"segment_seconds":([0-9]*),"video_codec":"h264","width":([0-9]*)\}.*$/\1 \2 \3 \4 \5 \6/')
      [ "$1" -le 8 ] && [ "$2" -le 120 ] &&
        [ "$3" -le 4320 ] && [ "$4" -le 192000 ] && [ "$5" -le 60 ] && [ "$6" -le 7680 ] ||
        fail "$f" "malformed link: media channels, fps, height, sample rate, segment seconds \
or width out of range"
      meta=$(printf '%s' "$event" | sed -E 's/^.*"metadata":(.*),"signer":\{[^}]*\},"type":.*$/\1/')
      texts_ok 200 "$meta" || fail "$f" "malformed link: a name in metadata is empty, too \
long, or has white space around it"
      ;;
    *)
      reason=$(printf '%s' "$event" | sed -nE 's/^.*"reason":('"$S"'),"type":.*$/\1/p')
      device=$(printf '%s' "$event" | sed -nE 's/^\{"device":('"$S"'),.*$/\1/p')
      [ -z "$reason" ] || texts_ok 2000 "$reason" || fail "$f" "malformed link: reason"
      [ -z "$device" ] || texts_ok 200 "$device" || fail "$f" "malformed link: device"
      ;;
    esac
    ;;
  esac
  # Vị trí: đúng phiên, đúng số thứ tự, mã băm của mắt xích trước, không sớm hơn lần trước.
  [ "$of" = "$session" ] || fail "$f" "link belongs to session $of, not $session"
  [ "$seq" = "$n" ] || fail "$f" "link says seq $seq but is link $n of the chain"
  [ "$prev" = "$head" ] ||
    fail "$f" "prev does not match the hash of the link before it: the chain is broken"
  case $state in stopped | interrupted) fail "$f" "link after the session ended ($state)" ;; esac
  [ -z "$last_key" ] || ! before "$when_key" "$last_key" ||
    fail "$f" "link time $time is before the previous link's: link times never go backwards"
  case $body in
  '{"kind":"segment"'*) # một đoạn: đoạn kế tiếp, khi đang ghi, tệp đúng như đã niêm phong
    [ "$state" = recording ] || fail "$f" "segment while the session is $state"
    set -- $(printf '%s' "$body" | sed -E 's/^.*,"segment":\{"duration_us":([0-9]*),"index":([0-9]*),"name":"([^"]*)","sha256":"([0-9a-f]*)","size":([0-9]*),"start_us":([0-9]*)\},.*$/\1 \2 \3 \4 \5 \6/')
    duration=$1 index=$2 name=$3 sealed=$4 size=$5 start=$6
    [ "$index" = "$count" ] || fail "$f" "segment index $index where $count was expected"
    six "$index"
    [ "$name" = "$six.mp4" ] || fail "$f" "segment $index misnamed $name"
    [ "$start" = "$media_us" ] || fail "$f" "segment start does not continue the timeline"
    if [ ! -f "segments/$name" ]; then
      case $left_out in
      *" segments/$name "*) ;;
      *) fail "segments/$name" "segment missing (deleted or renamed)" ;;
      esac
    else
      stored=$(($(wc -c <"segments/$name")))
      [ "$stored" = "$size" ] ||
        fail "segments/$name" "segment is $stored bytes, the chain sealed $size"
      sha "segments/$name"
      [ "$digest" = "$sealed" ] ||
        fail "segments/$name" "segment content does not match its sealed SHA-256"
    fi
    count_file "segments/$name" "$sealed"
    segment="{\"duration_us\":$duration,\"index\":$index,\"name\":\"$name\",\"sha256\":\"$sealed\""
    segments="$segments${segments:+,}$segment,\"size\":$size,\"start_us\":$start}"
    media_us=$((start + duration)) count=$((count + 1))
    ;;
  *) # một sự kiện, theo thứ tự mà trạng thái của phiên cho phép
    case $body in *'"type":"session_started"},"kind"'*) type=session_started ;;
    *) type=$(printf '%s' "$event" | sed -E 's/^.*"type":"([a-z_]*)"\}$/\1/') ;;
    esac
    if [ "$type" = session_started ] && [ "$state" != new ] ||
      [ "$type" != session_started ] && [ "$state" = new ]; then
      fail "$f" "the chain must open with exactly one session_started"
    fi
    case $type in
    session_started)
      media=$(printf '%s' "$event" | sed -E 's/^\{"media":(\{[^}]*\}),.*$/\1/')
      signer=$(printf '%s' "$event" | sed -E 's/^.*"signer":(\{[^}]*\}),"type":.*$/\1/')
      started=$time started_key=$when_key start_epoch=$when_epoch start_micro=$when_micro
      state=recording
      ;;
    paused)
      [ "$state" = recording ] || fail "$f" "paused while the session is $state"
      pauses="$pauses${pauses:+,}{\"paused_at\":$time,\"reason\":$reason"
      state=paused open_pause=1
      ;;
    resumed)
      [ "$state" = paused ] || fail "$f" "resumed while the session is $state"
      pauses="$pauses,\"resume_reason\":$reason,\"resumed_at\":$time}"
      state=recording open_pause=0
      ;;
    device_lost)
      case "$lost" in *"<$device>"*) fail "$f" "device $device lost twice" ;; esac
      lost="$lost<$device>" outages=$((outages + 1))
      entry="{\"device\":$device,\"lost_at\":$time,\"reason\":$reason"
      eval "outage_$outages=\$entry"
      ;;
    device_restored)
      case "$lost" in *"<$device>"*) ;; *) fail "$f" "device $device restored but never lost" ;; esac
      lost="${lost%%"<$device>"*}${lost#*"<$device>"}" i=$outages
      while [ "$i" -gt 0 ]; do # lần mất thiết bị gần nhất kết thúc ở đây
        eval "entry=\$outage_$i"
        case "$entry" in "{\"device\":$device,"*)
          entry="$entry,\"restored_at\":$time"
          eval "outage_$i=\$entry"
          break
          ;;
        esac
        i=$((i - 1))
      done
      ;;
    clock_skew) ;; # một dấu trên bản ghi (mục 13), không thay đổi gì khác
    stopped) ended=$time recovered="" state=stopped ;;
    interrupted) # bị cắt lúc ended_at (đoạn cuối đã niêm phong), khôi phục lúc của mắt xích
      ended=$(printf '%s' "$event" | sed -nE 's/^\{"ended_at":("[^"]*"),.*$/\1/p')
      recovered=$time state=interrupted link_key=$when_key
      if [ -z "$ended" ]; then # khôi phục trước khi thời điểm bị cắt được ghi lại: kết thúc ở đây
        ended=$time recovered=""
      else
        when "$ended" || fail "$f" "malformed link: ended_at $ended is no real time"
        ! before "$when_key" "$started_key" && ! before "$link_key" "$when_key" ||
          fail "$f" "interrupted at $ended, outside the session's start and its recovery"
        when_key=$link_key
      fi
      ;;
    esac
    end_reason=$reason
    ;;
  esac
  if [ "$n" -eq 0 ]; then # mắt xích 0 nêu khoá và chứng thư, và bên ký được tin cậy
    case $signer in *"\"public_key_sha256\":\"$key_sha\"}") ;;
    *) fail signer/public_key.pem "public key is not the one the session started with" ;;
    esac
    claimed=$(printf '%s' "$signer" | sed -nE 's/^.*"certificate_sha256":"([0-9a-f]*)".*$/\1/p')
    if [ -n "$cert" ]; then
      [ "$(openssl x509 -in "$cert" -outform DER | sha256sum | cut -c1-64)" = "$claimed" ] ||
        fail "$cert" "certificate is not the one the session started with"
      [ -n "$root_cert" ] || fail "$cert" "the trust root is a public key, not a certificate"
      [ "$(openssl x509 -in "$cert" -noout -pubkey | openssl pkey -pubin -outform DER |
        sha256sum | cut -c1-64)" = "$key_sha" ] ||
        fail "$cert" "certificate does not match the signing key"
      usage_=$(openssl x509 -in "$cert" -noout -ext keyUsage 2>/dev/null)
      case $usage_ in *"Key Usage"*) case $usage_ in *"Digital Signature"*) ;;
        *) fail "$cert" "certificate does not allow digital signatures" ;;
      esac ;; esac
      # Còn hiệu lực khi phiên bắt đầu (thời điểm của mắt xích 0), đến từng micro giây: chứng
      # thư tính theo giây, nên kiểm tra giây phiên bắt đầu và, nếu đã qua nó, giây kế tiếp.
      for at in $start_epoch $((start_epoch + (1$start_micro > 1000000))); do
        openssl verify -attime "$at" -CAfile "$root_cert" $untrusted "$cert" >/dev/null 2>&1 ||
          fail "$cert" "does not chain to the trust root, or was not valid at $started"
      done
      who=$(openssl x509 -in "$cert" -noout -subject)
    else
      [ -z "$claimed" ] || fail signer/certificate.pem "the session started with a certificate"
      [ "$key_sha" = "$root_key" ] ||
        fail signer/public_key.pem "the signing key has no certificate and is not the trusted key"
      who="the pinned public key"
    fi
    say "2. Link 0:   session started $started, signed by $who"
  fi
  head=$link_sha last_key=$when_key last_sig=$sig n=$((n + 1))
  six $n
done
[ "$n" -gt 0 ] || fail chain/000000.json "missing: the session's first link is gone"
say "   Chain:    $n links, every one signed, unbroken, in time order; $count segments as sealed"

# -- 3. Không có gì khác trong phiên (trừ biên nhận của bên chứng kiến và dấu thời gian) ----
expected=$(
  printf '%s' "$listed" | cut -d' ' -f1
  i=0
  while [ "$i" -lt "$n" ]; do
    six $i
    echo "chain/$six.sig"
    echo "chain/$six.tsr" # một dấu thời gian bên cạnh mắt xích (mục 13)
    i=$((i + 1))
  done
  printf '%s\n' SHA256SUMS SHA256SUMS.sig manifest.json manifest.sig manifest.tsr
)
# Không có trong danh sách nào: thư mục của bên chứng kiến, mọi tệp trong đó do bước 4 kiểm tra (mục 14).
stray=$(find . ! -type d | sed 's|^\./||' | sort | EXPECTED=$expected awk '
  BEGIN { n = split(ENVIRON["EXPECTED"], names, "\n"); for (i = 1; i <= n; i++) known[names[i]] }
  $0 in known || /^witness\// { next }
  { print; exit }')
[ -z "$stray" ] ||
  fail "$stray" "not part of the sealed chain (added, duplicated or spliced in, or left over)"
say "3. Files:    nothing else is in the session"

# -- 4. Biên nhận của bên chứng kiến (mục 14): điều nó đã nhận, được ký bên ngoài thiết bị ----
# Mỗi witness/NNNNNN.json (mắt xích NNNNNN) hoặc witness/manifest.json (niêm phong) nêu đúng
# các byte của một đầu chuỗi mà phiên có, trong cây Merkle của bên chứng kiến (RFC 9162), dưới
# một đầu cây do khoá của nó ký. Khoá: WITNESS=/duong/dan/witness.pem, nếu không thì khoá gói xuất mang theo,
# chỉ được tin khi WITNESS_FP ghim nó (dấu vân tay do bên vận hành nhân chứng công bố).
ENTRY='\{"device":'$H',"fork":(false|true),"kind":"(link|seal)","received_at":'$T'(,"seq":'$N
ENTRY=$ENTRY')?,"session":'$ID',"sha256":'$H',"type":"sealroom.witness-entry","v":1\}'
STH='\{"log":'$H',"root_hash":'$H',"signature":"[0-9a-f]{1,512}","timestamp":'$T
STH=$STH',"tree_size":'$N',"type":"sealroom.tree-head","v":1\}'
RECEIPT='\{"entry":'$ENTRY',"inclusion":\[('$H'(,'$H')*)?\],"leaf_index":'$N',"tree_head":'$STH
RECEIPT=$RECEIPT',"type":"sealroom.witness-receipt","v":1\}'
field() { # TÊN JSON: giá trị của một trường không chứa đối tượng
  printf '%s' "$2" | sed -nE 's/^.*[{,]"'"$1"'":("[^"]*"|[^",}]*)[,}].*$/\1/p' | tr -d '"'
}
bytes() { # HEX: các byte đó (thoát bát phân, vì printf POSIX không biết \x)
  printf "$(printf '%s' "$1" | awk -v x=0123456789abcdef '{
    for (i = 1; i < length($0); i += 2)
      printf "\\%03o", 16 * (index(x, substr($0, i, 1)) - 1) + index(x, substr($0, i + 1, 1)) - 1
  }')"
}
sha_hex() { openssl dgst -sha256 -binary | od -An -v -tx1 | tr -d ' \n'; }
node() { { printf '\001'; bytes "$1"; bytes "$2"; } | sha_hex; } # TRÁI PHẢI: một nút trong
receipts=$(find . ! -type d | sed 's|^\./||' | grep '^witness/' | sort)
if [ -n "$receipts" ]; then
  work=$(mktemp -d) || usage "cannot make a temporary directory"
  trap 'rm -rf "$work"' EXIT
  keys=""
  if [ -n "${WITNESS:-}" ]; then
    [ -f "$WITNESS" ] || usage "WITNESS names no file: $WITNESS"
    keys=$WITNESS whose="given (WITNESS)"
  elif [ -d ../../witness ]; then
    keys=$(find ../../witness -name '*.pem' | sort) whose="carried by the package, NOT pinned"
  fi
  pin=$(printf '%s' "${WITNESS_FP:-}" | tr 'A-F' 'a-f' | tr -cd '0-9a-f')
  [ -z "$pin" ] || [ -n "${WITNESS:-}" ] || whose="carried by the package; matches WITNESS_FP"
  ids="" ifs=$IFS
  IFS='
' # mỗi dòng một khoá: đường dẫn có thể chứa dấu cách
  for k in $keys; do
    id=$(openssl pkey -pubin -in "$k" -outform DER 2>/dev/null | sha256sum | cut -c1-64)
    [ -z "$pin" ] || [ "$id" = "$pin" ] || continue # not the pinned key: not believed
    ids="$ids$id $k
"
  done
  IFS=$ifs
fi
witnessed=0 sealed_seen=""
for f in $receipts; do
  case $f in
  witness/manifest.json) seq="" want=seal target=manifest.json ;;
  witness/*)
    stem=${f#witness/} stem=${stem%.json}
    printf '%s\n' "$f" | grep -Eqx 'witness/[0-9]{6}\.json' ||
      fail "$f" "object is not part of the session (the witness folder holds only receipts)"
    seq=$((1$stem - 1000000)) want=link target=chain/$stem.json
    ;;
  esac
  receipt=$(cat "$f")
  canonical_text "$f" && printf '%s\n' "$receipt" | grep -Eqx "$RECEIPT" ||
    fail "$f" "malformed witness receipt (not canonical JSON of a version 1 receipt)"
  entry=$(printf '%s' "$receipt" | sed -E 's/^\{"entry":(\{[^}]*\}),.*$/\1/')
  sth=$(printf '%s' "$receipt" | sed -E 's/^.*,"tree_head":(\{[^}]*\}),.*$/\1/')
  kind=$(field kind "$entry") at=$(field received_at "$entry") entry_seq=$(field seq "$entry")
  when "\"$at\"" && when "\"$(field timestamp "$sth")\"" ||
    fail "$f" "malformed witness receipt (a time that does not exist)"
  case $kind:$entry_seq in
  link:?* | seal:) ;;
  *) fail "$f" "malformed witness receipt (a link's entry names its seq, a seal's does not)" ;;
  esac
  [ "$(field session "$entry")" = "$session" ] ||
    fail "$f" "a receipt for session $(field session "$entry")"
  [ "$(field fork "$entry")" = false ] || fail "$f" "a fork the witness refused is not a receipt"
  [ "$kind:$entry_seq" = "$want:$seq" ] ||
    fail "$f" "the receipt is for another head than its name says"
  [ -f "$target" ] ||
    fail "$f" "the witness holds ${seq:+link }${seq:-the seal} of this session, which is gone: \
it was removed after it was witnessed"
  sha "$target"
  [ "$digest" = "$(field sha256 "$entry")" ] ||
    fail "$f" "$target is not the one the witness received at $at: it was replaced after it \
was witnessed"
  log=$(field log "$sth")
  k=$(printf '%s' "$ids" | sed -n "s/^$log //p" | sed -n 1p)
  [ -n "$k" ] || fail "$f" "signed by witness key sha256:$log, which is not a trusted witness key \
(set WITNESS to the witness's public key)"
  bytes "$(field signature "$sth")" >"$work/sig"
  printf '%s' "$sth" | sed -E 's/"signature":"[0-9a-f]*",//' >"$work/head"
  openssl pkeyutl -verify -pubin -inkey "$k" -rawin -in "$work/head" -sigfile "$work/sig" \
    >/dev/null 2>&1 || fail "$f" "the tree head's signature does not verify"
  # Chứng minh bao hàm (RFC 9162, 2.1.3.2): từ lá của mục lên đến gốc của đầu cây.
  fn=$(field leaf_index "$receipt") size=$(field tree_size "$sth")
  r=$({ printf '\000'; printf '%s' "$entry"; } | sha_hex) sn=$((size - 1)) ok=true
  [ "$fn" -lt "$size" ] || ok=false
  for p in $(printf '%s' "$receipt" | sed -E 's/^.*,"inclusion":\[([^]]*)\].*$/\1/' | tr '",' '  '); do
    [ "$sn" -gt 0 ] || ok=false
    if [ $((fn % 2)) -eq 1 ] || [ "$fn" -eq "$sn" ]; then
      r=$(node "$p" "$r")
      while [ $((fn % 2)) -eq 0 ] && [ "$fn" -ne 0 ]; do fn=$((fn / 2)) sn=$((sn / 2)); done
    else
      r=$(node "$r" "$p")
    fi
    fn=$((fn / 2)) sn=$((sn / 2))
  done
  [ "$ok" = true ] && [ "$sn" -eq 0 ] && [ "$r" = "$(field root_hash "$sth")" ] ||
    fail "$f" "the entry is not in the witness's signed tree"
  if [ -n "$seq" ]; then witnessed=$((witnessed + 1)); else sealed_seen=" and the seal"; fi
  witness_key=$k
done
if [ -n "$receipts" ]; then
  say "4. Witness:  $witnessed of $n links$sealed_seen have receipts, each in the witness's signed"
  say "   log; witness key $witness_key ($whose)"
  say "   SHA-256 of its DER $(printf '%s' "$ids" | grep " $witness_key\$" | cut -c1-64)"
  if [ -z "${WITNESS:-}" ] && [ -z "$pin" ]; then
    say "   WARNING: these receipts are signed by a key the package itself carries. Whoever"
    say "   altered the package could have made that key and these receipts. They prove"
    say "   nothing until the fingerprint above is compared with the one the witness's"
    say "   operator publishes (or set WITNESS_FP to it, or WITNESS to the key you were given)."
  fi
else
  say "4. Witness:  not yet witnessed: no receipt from the off-box witness (reported, not a sign"
  say "   of tampering: the witness may have been unreachable)"
fi

# -- 5. Niêm phong: bản kê và SHA256SUMS đã ký, và đúng như chuỗi suy ra ----------------------
if [ ! -f manifest.json ]; then
  case $state in
  stopped | interrupted) fail manifest.json "the session ended but was never sealed: incomplete" ;;
  esac
  fail manifest.json "not sealed: the chain is whole up to link $((n - 1)), but it is still \
recording or was cut off and not yet recovered: incomplete"
fi
[ -f manifest.sig ] || fail manifest.sig "missing"
signed manifest.json manifest.sig || fail manifest.json "signature does not verify"
canonical_text manifest.json && grep -q '^{.*,"type":"sealroom.manifest","v":1}$' manifest.json ||
  fail manifest.json "not a version 1 sealroom manifest"
case $state in
stopped | interrupted) ;;
*) fail manifest.json "the chain does not end: links were removed (head rolled back)" ;;
esac
[ -f SHA256SUMS ] || fail SHA256SUMS "missing"
[ -f SHA256SUMS.sig ] || fail SHA256SUMS.sig "missing"
signed SHA256SUMS SHA256SUMS.sig || fail SHA256SUMS "signature does not verify"
sums=$(printf '%s' "$listed" | sort | sed -E 's/^([^ ]*) (.*)$/\2  \1/'; echo .)
[ "$sums" = "$(cat SHA256SUMS; echo .)" ] ||
  fail SHA256SUMS "does not list exactly the session's files and their digests"
grep -q "^{\"chain\":{\"algorithm\":\"sha256\",\"head\":\"$head\",\"head_signature\":\"[0-9a-f]*\",\"length\":$n}," manifest.json ||
  fail manifest.json "does not seal this chain of $n links: links were removed or replaced"
# Bản kê niêm phong mà chuỗi này suy ra (mục 6), từng byte một.
signature=$(od -An -v -tx1 "$last_sig" | tr -d ' \n')
sha SHA256SUMS
o="" i=1
while [ "$i" -le "$outages" ]; do
  eval "entry=\$outage_$i"
  o="$o${o:+,}$entry}" i=$((i + 1))
done
[ "$open_pause" -eq 0 ] || pauses="$pauses}" # tạm dừng đến hết
interrupted=false
[ "$state" = stopped ] || interrupted=true
seal="{\"chain\":{\"algorithm\":\"sha256\",\"head\":\"$head\",\"head_signature\":\"$signature\",\
\"length\":$n},\"checksums_sha256\":\"$digest\",\"device_outages\":[$o],\
\"duration_us\":$media_us,\"ended_at\":$ended,\"interrupted\":$interrupted,\
\"media\":$media,\"metadata\":$meta,\"pauses\":[$pauses],\
${recovered:+\"recovered_at\":$recovered,}\"segments\":[$segments],\"session\":\"$session\",\
\"signer\":$signer,\"started_at\":$started,\"stop_reason\":$end_reason,\
\"type\":\"sealroom.manifest\",\"v\":1}"
[ "$seal" = "$(cat manifest.json)" ] ||
  fail manifest.json "its fields are not exactly those the chain implies"
say "5. Seal:     manifest.json and SHA256SUMS signed, and exactly what the chain implies"
say "   Ended:    $ended${recovered:+, cut off; recovered $recovered}"
# -- 6. Dấu thời gian (mục 13): thời điểm một đơn vị cấp dấu thời gian thấy từng tệp -------
# Với chứng thư gốc của đơn vị mà bạn chọn (TSA, hoặc chứng thư gốc của gói khi TSA_FP ghim nó),
# mọi dấu được kiểm tra như mục 13 nói; không có nó, quy trình nói rằng chúng CHƯA được kiểm tra.
tokens="" # bên cạnh một mắt xích, theo số, rồi bên cạnh manifest: thứ tự chúng được ghi
i=0
while [ "$i" -lt "$n" ]; do
  six $i
  [ ! -f "chain/$six.tsr" ] || tokens="$tokens chain/$six.tsr"
  i=$((i + 1))
done
[ ! -f manifest.tsr ] || tokens="$tokens manifest.tsr"
tsa_pin=$(printf '%s' "${TSA_FP:-}" | tr 'A-F' 'a-f' | tr -cd '0-9a-f')
tsa=""
if [ -z "$tokens" ]; then
  say "6. Tokens:   none: no time-stamp authority's time for this session"
elif [ -n "${TSA:-}" ]; then
  [ -f "$TSA" ] && openssl x509 -in "$TSA" -noout 2>/dev/null ||
    usage "TSA names no readable certificate: $TSA"
  tsa=$TSA tsa_whose="given (TSA)"
elif [ -n "$tsa_pin" ]; then
  tsa=../../tsa-ca.pem tsa_whose="carried by the package; matches TSA_FP"
fi
if [ -n "$tsa" ]; then
  [ -z "$tsa_pin" ] ||
    [ "$(openssl x509 -in "$tsa" -outform DER 2>/dev/null | sha256sum | cut -c1-64)" \
      = "$tsa_pin" ] || fail "$tsa" "the time-stamp authority's root is not the one whose \
fingerprint you gave (TSA_FP)"
  say "6. Tokens:   against the authority's root $tsa ($tsa_whose):"
  say "   $(openssl x509 -in "$tsa" -noout -subject)"
  say "   $(openssl x509 -in "$tsa" -noout -fingerprint -sha256)"
  checked=0 tsa_first="" tsa_last="" last_key="" last_token=""
  for tok in $tokens; do
    stamped=${tok%.tsr}.json
    text=$(openssl ts -reply -in "$tok" -text 2>/dev/null) ||
      fail "$tok" "not a time-stamp token (openssl cannot read it as an RFC 3161 response)"
    case $text in
    *"Status: Granted."*) ;;
    *) fail "$tok" "the authority did not grant this token" ;;
    esac
    case $text in
    *"Hash Algorithm: sha256"*) ;;
    *) fail "$tok" "the token does not stamp a SHA-256" ;;
    esac
    # genTime như openssl in ra, "Dec  7 04:26:22.133 2026 GMT", đọc đến từng giây như
    # các chương trình đọc
    stamp=$(printf '%s\n' "$text" | sed -n 's/^Time stamp: //p' | awk '
      { m = index("JanFebMarAprMayJunJulAugSepOctNovDec", $1); split($3, c, ".")
        if (NF != 5 || $5 != "GMT" || m % 3 != 1) exit 1
        printf "%04d-%02d-%02dT%sZ\n", $4, (m + 2) / 3, $2, c[1] }') # to the second
    printf '"%s"\n' "${stamp%Z}.000000Z" | grep -Eqx "$T" && when "\"${stamp%Z}.000000Z\"" ||
      fail "$tok" "not a time-stamp token (no time the authority stamped it at)"
    # Quy tắc 1 và 2: dấu băm là của tệp bên cạnh; chữ ký nối về chứng thư gốc,
    # mỗi chứng thư còn hiệu lực tại thời điểm của chính đơn vị cấp dấu.
    why=$(openssl ts -verify -data "$stamped" -in "$tok" -CAfile "$tsa" -attime "$when_epoch" \
      2>&1 >/dev/null) || {
      case $why in *"imprint mismatch"*)
        fail "$tok" "the token stamps other data, not the file beside it ($stamped)" ;;
      esac
      fail "$tok" "the token does not verify against the time-stamp authority's root \
($(printf '%s\n' "$why" | grep -v '^Using configuration' | sed -n 1p | sed 's/^.*:error:[^:]*://'))"
    }
    # Quy tắc 3: không bao giờ được cấp dấu trước dấu của một tệp được ghi sớm hơn.
    [ -z "$last_key" ] || ! before "$when_key" "$last_key" ||
      fail "$tok" "stamped at $stamp, before $last_token was stamped: a token was moved or replaced"
    [ -n "$tsa_first" ] || tsa_first="$stamp ($tok)"
    tsa_last="$stamp ($tok)" last_key=$when_key last_token=$tok checked=$((checked + 1))
  done
  say "   $checked time-stamp token(s) checked (openssl ts -verify), each stamping the file beside"
  say "   it, in the order they were written; first $tsa_first, last $tsa_last"
  [ -n "${TSA:-}" ] || [ -z "$tsa_pin" ] || say "   the root ../../tsa-ca.pem matches TSA_FP"
elif [ -n "$tokens" ]; then
  set -- $tokens
  say "6. Tokens:   $# time-stamp token(s) NOT CHECKED: no authority's root. Set TSA to the root"
  say "   you obtained yourself, or TSA_FP to the fingerprint the authority publishes (then"
  say "   ../../tsa-ca.pem, which an export package carries, is used)"
fi
say ""
say "RESULT: INTACT"
say "  Signed by $who, under the root above. A copy shortened and sealed again"
say "  with the device's own key would pass this check too: only a record off the box"
if [ -n "$receipts" ] && { [ -n "${WITNESS:-}" ] || [ -n "$pin" ]; }; then
  say "  shows what was sealed first: here, the witness's receipts, under the key you gave."
else # a key the package carries proves nothing: the receipts are not cited
  say "  shows what was sealed first: the witness's receipts, under a key you obtained"
  say "  yourself (WITNESS or WITNESS_FP), never one taken from the package."
fi
