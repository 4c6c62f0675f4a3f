#!/usr/bin/env python3
"""Standalone verifier for a sealroom export package.

Usage:  python verify.py [PACKAGE_DIR] [--root ROOT.pem] [--expect-root FINGERPRINT]
                        [--tsa-root TSA.pem] [--expect-tsa FINGERPRINT] [--skip-time-stamps]
                        [--witness-key W.pem] [--expect-witness FINGERPRINT]
                        [--expect-exporter FINGERPRINT]

Needs only the Python standard library (3.9 or newer) and the ``cryptography`` package.
It implements the rules of the sealroom evidence format, version 1 (docs/evidence-format.md,
repeated in README.en.md), without any other sealroom code, so that it can be read and
checked on its own:

  1. the signer's certificate chains to the trust root and was valid when the session began;
  2. every chain link is signed, canonical, well formed, and names the hash of the one before;
  3. every segment present has the size and SHA-256 its link sealed;
  4. nothing else is in the session directory;
  5. the signed manifest is exactly what the chain implies, and SHA256SUMS is signed and lists
     exactly the session's files;
  6. for a clip: the clip's chain values are the chain's, its segments are exactly those its
     span covers, every one of them is here, and NOT-INCLUDED.txt lists exactly the others;
  7. the custody excerpt is well formed: this session's events in order, each saying who did
     what, when and in which role, and nothing the privacy policy keeps at the office;
  8. every file of the package, whatever its name or directory, is as it was exported
     (PACKAGE-SHA256SUMS), and the package holds exactly one session.
  9. every time-stamp token (``.tsr``, RFC 3161) beside a link or the manifest stamps exactly
     that file, chains to the time-stamp authority's root (tsa-ca.pem, or --tsa-root), and
     is not older than the token of an earlier file; the signer's certificate is checked at
     the authority's time for the session's start. Tokens need the ``rfc3161-client``
     package: without it they are NOT checked, and the result says so (exit status 2),
     unless --skip-time-stamps asks to verify the rest alone.
 10. every receipt of the off-box witness (witness/NNNNNN.json, witness/manifest.json) names
     the exact bytes of a head the session holds, is in the witness's Merkle tree (RFC 9162
     inclusion proof) under a tree head signed by the witness key (witness/*.pem, or
     --witness-key); a session without receipts is reported "not yet witnessed".

Two signatures, two statements. The room device's signature (the chain, the manifest) proves
the recording: every segment is byte for byte what the device sealed. The exporting
installation's signature (PACKAGE-SHA256SUMS.sig, with its certificate in exporter/, chaining
to the same trust root) proves the selection: which segments the package holds, a clip's span,
the custody excerpt as the issuing office recorded it, and these documents. It is checked
first, so nothing the exporter wrote is believed before its signature verifies.

It stops at the first failure and says which file failed and why.
Exit status: 0 intact, 1 not intact, 2 usage error (bad arguments, no sessions/ directory)
or time-stamp tokens that could not be checked.

The trust root shipped in the package proves nothing by itself: anyone can make a root and
sign a forgery with it. Compare the root's fingerprint printed below with the one published by
the procuracy, or pass that fingerprint with --expect-root (or their root file with --root).
The same holds for every other key the package carries: the witness's key (receipts signed by
a key of the forger's making prove nothing; --expect-witness or --witness-key), the
time-stamp authority's root (--expect-tsa or --tsa-root) and the exporter's key
(--expect-exporter). A wrong pin is NOT INTACT; without one, the result says what was taken
from the package on trust, and never cites the receipts as proof.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import stat
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
except ImportError:  # pragma: no cover - depends on the reader's machine
    print("verify.py cần gói 'cryptography' / needs the 'cryptography' package:", file=sys.stderr)
    print("  pip install cryptography", file=sys.stderr)
    sys.exit(2)

ZERO_HASH = "0" * 64
MAX_CHAIN_DEPTH = 6
SESSION_ID = re.compile(r"s-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}")
TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# Files written when a session is sealed; SHA256SUMS lists every other file.
SEALING_FILES = ("SHA256SUMS", "SHA256SUMS.sig", "manifest.json", "manifest.sig")
PACKAGE_SUMS = "PACKAGE-SHA256SUMS"
PACKAGE_SIG = "PACKAGE-SHA256SUMS.sig"
TRUST_ROOT = "trust-root.pem"
EXPORTER_KEY = "exporter/public_key.pem"
EXPORTER_CERT = "exporter/certificate.pem"
EXPORTER_CHAIN = "exporter/chain.pem"
CLIP_PROOF = "clip.json"
NOT_INCLUDED = "NOT-INCLUDED.txt"
CUSTODY = "custody.json"
INSTALLATION = "installation.json"
# An IANA zone name (Asia/Ho_Chi_Minh) and a UTC offset (+07:00), as installation.json holds them.
ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}")
UTC_OFFSET = re.compile(r"[+-][0-9]{2}:[0-9]{2}")


# -- what verify.py says, in Vietnamese (the default) and English (--lang en) -------------------
#
# Every line is a code with {named} values, never English pieced together: the same table
# gives both languages, and the English stays word for word what the documents quote.
# A value that is itself a word to translate is a Term (its code).

LANGUAGES = ("vi", "en")

MESSAGES: dict[str, tuple[str, str]] = {
    # failure reasons: (English, Vietnamese)
    "unsupported_signing_key_type": (
        "unsupported signing key type (expected Ed25519 or ECDSA P-256)",
        "loại khoá ký không được hỗ trợ (cần Ed25519 hoặc ECDSA P-256)",
    ),
    "certificate_chain_too_long": ("certificate chain is too long", "chuỗi chứng thư quá dài"),
    "json_object": ("not a JSON object", "không phải một đối tượng JSON"),
    "floating_point_numbers_are": (
        "floating-point numbers are not allowed in canonical JSON",
        "JSON chuẩn tắc không cho phép số thực dấu phẩy động",
    ),
    "canonical_form_bytes_edited": (
        "not in canonical form (bytes were edited)",
        "không ở dạng chuẩn tắc (các byte đã bị sửa)",
    ),
    "unreadable_certificate_pem_certificate": (
        "unreadable certificate (no PEM certificate in the file)",
        "không đọc được chứng thư (tệp không có chứng thư PEM nào)",
    ),
    "certificate_does_allow_digital": (
        "certificate does not allow digital signatures",
        "chứng thư không cho phép ký số",
    ),
    "version_1_witness_receipt": (
        "not a version 1 witness receipt",
        "không phải biên nhận của bên chứng kiến phiên bản 1",
    ),
    "receipt_s_entry_version": (
        "the receipt's entry is not a version 1 witness entry",
        "mục của biên nhận không phải mục chứng kiến phiên bản 1",
    ),
    "receipt_s_tree_head": (
        "the receipt's tree head is not a version 1 signed tree head",
        "đầu cây của biên nhận không phải đầu cây đã ký phiên bản 1",
    ),
    "does_list_files_exactly": (
        "does not list the files of exactly one session",
        "không liệt kê các tệp của đúng một phiên ghi",
    ),
    "what_regular_file_files": (
        "{what}, not a regular file: only files and directories are evidence, and a link is "
        "never followed",
        "{what}, không phải tệp thường: chỉ tệp và thư mục mới là chứng cứ, và liên kết không "
        "bao giờ được đi theo",
    ),
    "symbolic_link": ("a symbolic link", "một liên kết tượng trưng"),
    "named_pipe": ("a named pipe (FIFO)", "một ống có tên (FIFO)"),
    "socket": ("a socket", "một socket"),
    "device_file": ("a device", "một tệp thiết bị"),
    "valid_json_exc": ("not valid JSON ({exc})", "không phải JSON hợp lệ ({exc})"),
    "pem_public_key": ("not a PEM public key", "không phải khoá công khai PEM"),
    "signature_does_verify_signed": (
        "signature does not verify: the signed bytes were altered",
        "chữ ký không hợp lệ: các byte đã ký bị thay đổi",
    ),
    "unreadable_certificate_exc": (
        "unreadable certificate ({exc})",
        "không đọc được chứng thư ({exc})",
    ),
    "certificate_current_r_valid": (
        "certificate {current!r} was not valid at {at}",
        "chứng thư {current!r} không có hiệu lực vào lúc {at}",
    ),
    "certificate_current_r_does": (
        "certificate {current!r} does not chain to a trusted root (the trust root given to "
        "this verifier)",
        "chứng thư {current!r} không nối về gốc tin cậy (gốc tin cậy đưa cho trình kiểm tra này)",
    ),
    "issuer_issuer_r_ca": (
        "issuer {issuer!r} is not a CA",
        "bên cấp {issuer!r} không phải tổ chức chứng thực (CA)",
    ),
    "malformed_link_exc": ("malformed link: {exc}", "mắt xích sai dạng: {exc}"),
    "link_belongs_session_session": (
        "link belongs to session {session}, not {session_id}",
        "mắt xích thuộc phiên ghi {session}, không phải {session_id}",
    ),
    "link_says_seq_seq": (
        "link says seq {seq} but is link {length} of the chain",
        "mắt xích ghi seq {seq} nhưng là mắt xích thứ {length} của chuỗi",
    ),
    "prev_does_match_hash": (
        "prev does not match the hash of the link before it: the chain is broken (a link was "
        "removed, inserted, reordered or edited)",
        "prev không khớp mã băm của mắt xích liền trước: chuỗi bị đứt (một mắt xích đã bị "
        "xoá, chèn thêm, đổi thứ tự hoặc sửa)",
    ),
    "link_after_session_ended": (
        "link after the session ended ({state})",
        "có mắt xích sau khi phiên ghi đã kết thúc ({state})",
    ),
    "link_time_time_before": (
        "link time {time} is before the previous link's {last_time}: link times never go backwards",
        "thời điểm mắt xích {time} sớm hơn của mắt xích trước ({last_time}): thời điểm các "
        "mắt xích không bao giờ lùi lại",
    ),
    "segment_while_session_state": (
        "segment while the session is {state}",
        "có đoạn video trong khi phiên ghi đang ở trạng thái {state}",
    ),
    "segment_names_track_session": (
        "segment names a track, but the session records one composite picture",
        "đoạn video ghi tên một kênh, nhưng phiên ghi chỉ ghi một hình ghép",
    ),
    "segment_index_index_where": (
        "segment index {index} where {segment_count} was expected",
        "đoạn video số {index} trong khi lẽ ra là số {segment_count}",
    ),
    "segment_start_does_continue": (
        "segment start does not continue the timeline",
        "điểm bắt đầu của đoạn video không nối tiếp dòng thời gian",
    ),
    "segment_unknown_track_track": (
        "segment of unknown track {track!r} (the session's tracks are {tracks})",
        "đoạn video của kênh không xác định {track!r} (các kênh của phiên ghi: {tracks})",
    ),
    "segment_index_index_track": (
        "segment index {index} of track {track} where {earlier_count} was expected",
        "đoạn video số {index} của kênh {track} trong khi lẽ ra là số {earlier_count}",
    ),
    "segment_starts_before_end": (
        "segment starts before the end of track {track}'s previous segment",
        "đoạn video bắt đầu trước khi đoạn trước của kênh {track} kết thúc",
    ),
    "chain_must_open_exactly": (
        "the chain must open with exactly one session_started",
        "chuỗi phải mở đầu bằng đúng một session_started",
    ),
    "device_stats_name_device": (
        "device stats name a device twice",
        "thống kê thiết bị nêu một thiết bị hai lần",
    ),
    "kind_while_session_state": (
        "{kind} while the session is {state}",
        "{kind} trong khi phiên ghi đang ở trạng thái {state}",
    ),
    "missing": ("missing", "bị thiếu"),
    "missing_session_s_first": (
        "missing: the session's first link is gone, while {file_count} other file(s) of the "
        "session remain",
        "bị thiếu: mắt xích đầu tiên của phiên ghi đã mất, trong khi vẫn còn {file_count} tệp "
        "khác của phiên ghi",
    ),
    "public_key_one_session": (
        "public key is not the one the session started with",
        "khoá công khai không phải khoá mà phiên ghi bắt đầu với",
    ),
    "certificate_one_session_started": (
        "certificate is not the one the session started with",
        "chứng thư không phải chứng thư mà phiên ghi bắt đầu với",
    ),
    "certificate_does_match_signing": (
        "certificate does not match the signing key",
        "chứng thư không khớp với khoá ký",
    ),
    "trust_root_public_key": (
        "the trust root is a public key, but the signer has a certificate",
        "gốc tin cậy là một khoá công khai, nhưng bên ký lại có chứng thư",
    ),
    "segment_missing_deleted_renamed": (
        "segment missing (deleted or renamed)",
        "thiếu đoạn video (đã bị xoá hoặc đổi tên)",
    ),
    "segment_size_bytes_chain": (
        "segment is {size} bytes, the chain sealed {size2} ({state})",
        "đoạn video có {size} byte, chuỗi đã niêm phong {size2} byte ({state})",
    ),
    "shorter": ("truncated", "bị cắt ngắn"),
    "longer": ("bytes appended", "bị thêm byte"),
    "segment_content_does_match": (
        "segment content does not match its sealed SHA-256 (altered or replaced)",
        "nội dung đoạn video không khớp SHA-256 đã niêm phong (đã bị sửa hoặc thay thế)",
    ),
    "sealed_chain_intact_up": (
        "not sealed: the chain is intact up to link {length} but has no manifest (the "
        "recording was cut off, or its end was removed)",
        "chưa niêm phong: chuỗi nguyên vẹn đến mắt xích {length} nhưng không có bản kê "
        "(manifest) (bản ghi bị cắt ngang, hoặc phần cuối đã bị xoá)",
    ),
    "version_1_sealroom_manifest": (
        "not a version 1 sealroom manifest",
        "không phải bản kê sealroom phiên bản 1",
    ),
    "manifest_seals_length_links": (
        "the manifest seals {length} links but the chain has only {length2} and does not end: "
        "links were removed (head rolled back)",
        "bản kê niêm phong {length} mắt xích nhưng chuỗi chỉ có {length2} và không có phần "
        "kết: các mắt xích đã bị xoá (đầu chuỗi bị lùi lại)",
    ),
    "manifest_seals_length_links_2": (
        "the manifest seals {length} links with head {head}…, the chain has {length2} with "
        "head {head2}…: links were removed or replaced (head rolled back)",
        "bản kê niêm phong {length} mắt xích với đầu chuỗi {head}…, chuỗi có {length2} với "
        "đầu chuỗi {head2}…: các mắt xích đã bị xoá hoặc thay thế (đầu chuỗi bị lùi lại)",
    ),
    "manifest_field_field_r": (
        "manifest field {field!r} does not match the chain",
        "trường {field!r} của bản kê không khớp với chuỗi",
    ),
    "does_list_exactly_session": (
        "does not list exactly the session's files and their digests",
        "không liệt kê đúng các tệp của phiên ghi và mã băm của chúng",
    ),
    "receipt_session_session": (
        "a receipt for session {session}",
        "biên nhận của phiên ghi {session}",
    ),
    "fork_witness_refused_receipt": (
        "a fork the witness refused is not a receipt",
        "một nhánh rẽ mà bên chứng kiến đã từ chối không phải là biên nhận",
    ),
    "receipt_another_head_than": (
        "the receipt is for another head than its name says",
        "biên nhận dành cho một đầu chuỗi khác với tên của nó",
    ),
    "witness_holds_seal_gone": (
        "the witness holds the seal of this session, which is gone: it was removed after it "
        "was witnessed",
        "bên chứng kiến giữ niêm phong của phiên ghi này, nhưng niêm phong đã mất: nó bị xoá "
        "sau khi được chứng kiến",
    ),
    "witness_holds_link_gone": (
        "the witness holds link {seq} of this session, which is gone: it was removed after it "
        "was witnessed",
        "bên chứng kiến giữ mắt xích {seq} của phiên ghi này, nhưng mắt xích đó đã mất: nó bị "
        "xoá sau khi được chứng kiến",
    ),
    "head_name_one_witness": (
        "{head_name} is not the one the witness received at {received_at}: it was replaced "
        "after it was witnessed",
        "{head_name} không phải tệp mà bên chứng kiến nhận lúc {received_at}: nó bị thay thế "
        "sau khi được chứng kiến",
    ),
    "signed_witness_key_sha256": (
        "signed by witness key sha256:{log}, which is not a trusted witness key (give it with "
        "--witness-key)",
        "được ký bằng khoá chứng kiến sha256:{log}, không phải khoá chứng kiến tin cậy (đưa "
        "khoá bằng --witness-key)",
    ),
    "entry_witness_s_signed": (
        "the entry is not in the witness's signed tree",
        "mục này không nằm trong cây đã ký của bên chứng kiến",
    ),
    "utf_8_text": ("not UTF-8 text", "không phải văn bản UTF-8"),
    "line_number_sha256_file": (
        "line {number} is not '<sha256>  <file>'",
        "dòng {number} không có dạng '<sha256>  <tệp>'",
    ),
    "missing_package_list": (
        "missing: the package has no list of its files",
        "bị thiếu: gói không có danh sách các tệp của nó",
    ),
    "missing_package_signature": (
        "missing: the package is not signed by the installation that exported it, so nothing "
        "it says about itself (clip, custody, files) can be trusted",
        "bị thiếu: gói không được ký bởi hệ thống đã xuất nó, nên không điều gì gói tự nói về "
        "mình (đoạn trích, lưu ký, tệp) đáng tin",
    ),
    "missing_exporter_key": (
        "missing: the exporter's key checks PACKAGE-SHA256SUMS.sig",
        "bị thiếu: khoá của bên xuất dùng để kiểm tra PACKAGE-SHA256SUMS.sig",
    ),
    "exporter_s_key_one": (
        "the exporter's key is not the one whose fingerprint you expect (--expect-exporter)",
        "khoá của bên xuất không phải khoá có dấu vân tay bạn mong đợi (--expect-exporter)",
    ),
    "expected_exactly_one_certificate": (
        "expected exactly one certificate",
        "cần đúng một chứng thư",
    ),
    "certificate_does_match_exporter": (
        "certificate does not match the exporter's key",
        "chứng thư không khớp với khoá của bên xuất",
    ),
    "file_added_package_after": (
        "file was added to the package after it was exported",
        "tệp được thêm vào gói sau khi gói được xuất",
    ),
    "file_changed_since_package": (
        "file changed since the package was exported",
        "tệp đã bị thay đổi kể từ khi gói được xuất",
    ),
    "version_1_sealroom_clip": (
        "not a version 1 sealroom clip proof",
        "không phải bằng chứng đoạn trích sealroom phiên bản 1",
    ),
    "clip_session_session": (
        "the clip is of session {session}",
        "đoạn trích thuộc phiên ghi {session}",
    ),
    "clip_holds_link_hashe": (
        "the clip holds {values} chain values; the chain has {links} links",
        "đoạn trích giữ {values} giá trị chuỗi; chuỗi có {links} mắt xích",
    ),
    "clip_s_head_signed": (
        "the clip's head is not the signed head",
        "đầu chuỗi của đoạn trích không phải đầu chuỗi đã ký",
    ),
    "clip_made_from_manifest": (
        "the clip was not made from this manifest",
        "đoạn trích không được tạo từ bản kê này",
    ),
    "clip_s_span_outside": (
        "the clip's span is outside the recording",
        "khoảng thời gian của đoạn trích nằm ngoài bản ghi",
    ),
    "clip_s_segments_are": (
        "the clip's segments are not the sealed segments its span covers",
        "các đoạn video của đoạn trích không phải các đoạn đã niêm phong mà khoảng của nó bao phủ",
    ),
    "missing_clip_lists_sealed": (
        "missing: a clip lists the sealed segments it leaves out",
        "bị thiếu: một đoạn trích phải liệt kê các đoạn đã niêm phong mà nó bỏ ra ngoài",
    ),
    "does_list_exactly_sealed": (
        "does not list exactly the sealed segments outside the clip's span (expected {expected})",
        "không liệt kê đúng các đoạn đã niêm phong nằm ngoài khoảng của đoạn trích (cần "
        "{expected})",
    ),
    "missing_package_s_custody": (
        "missing: the package's custody excerpt",
        "bị thiếu: trích lục nhật ký lưu ký của gói",
    ),
    "unknown_custody_excerpt_version": (
        "unknown custody excerpt version {version!r} (expected 2)",
        "phiên bản trích lục lưu ký không xác định {version!r} (cần 2)",
    ),
    "excerpt_session_session_session": (
        "the excerpt is of session {session}, not {session_id}",
        "trích lục thuộc phiên ghi {session}, không phải {session_id}",
    ),
    "taken_utc_timestamp": (
        "taken_at is not a UTC timestamp",
        "taken_at không phải mốc thời gian UTC",
    ),
    "file_removed_from_package": (
        "file was removed from the package after it was exported",
        "tệp đã bị xoá khỏi gói sau khi gói được xuất",
    ),
    "token_does_stamp_sha": (
        "the token does not stamp a SHA-256",
        "dấu thời gian không đóng cho một mã SHA-256",
    ),
    "token_stamps_other_data": (
        "the token stamps other data, not the file beside it",
        "dấu thời gian đóng cho dữ liệu khác, không phải tệp bên cạnh nó",
    ),
    "directory_exported_session_session": (
        "directory is not the exported session {session_id}: a package holds one session, and "
        "this one was added (or the session renamed) after the export",
        "thư mục không phải phiên ghi đã xuất {session_id}: một gói chỉ chứa một phiên ghi, "
        "và thư mục này được thêm vào (hoặc phiên ghi bị đổi tên) sau khi xuất",
    ),
    "trust_root_one_whose": (
        "the trust root is not the one whose fingerprint you expect",
        "gốc tin cậy không phải gốc có dấu vân tay bạn mong đợi",
    ),
    "whole_session_package_leaves": (
        "a whole-session package leaves nothing out",
        "gói toàn bộ phiên ghi không được bỏ ra ngoài đoạn nào",
    ),
    "name_line_break_another": (
        "a name with a line break or another control character is never part of a session or "
        "package",
        "tên chứa ký tự xuống dòng hoặc ký tự điều khiển khác không bao giờ thuộc về một phiên "
        "ghi hay một gói",
    ),
    "expected_exactly_one_root": (
        "expected exactly one root certificate",
        "cần đúng một chứng thư gốc",
    ),
    "neither_pem_certificate_nor": (
        "neither a PEM certificate nor a PEM public key",
        "không phải chứng thư PEM cũng không phải khoá công khai PEM",
    ),
    "device_stats_device_name": (
        "device stats of {device} name unknown track {track!r}",
        "thống kê của thiết bị {device} nêu kênh không xác định {track!r}",
    ),
    "device_stats_count_counted": (
        "device stats count {counted} clock corrections of {device}, the chain records {chained}",
        "thống kê thiết bị đếm {counted} lần chỉnh đồng hồ của {device}, chuỗi ghi {chained}",
    ),
    "signature_missing": ("signature missing", "thiếu chữ ký"),
    "session_started_certificate_now": (
        "the session started with a certificate that is now missing",
        "phiên ghi bắt đầu với một chứng thư mà nay đã mất",
    ),
    "signing_key_certificate_trusted": (
        "the signing key has no certificate and is not the trusted key",
        "khoá ký không có chứng thư và không phải khoá tin cậy",
    ),
    "object_part_sealed_chain": (
        "object is not part of the sealed chain (added, duplicated or spliced in, or left over "
        "after a link before it was removed)",
        "đối tượng không thuộc chuỗi đã niêm phong (được thêm, nhân bản hoặc ghép vào, hoặc "
        "còn sót lại sau khi một mắt xích trước nó bị xoá)",
    ),
    "object_part_session_witness": (
        "object is not part of the session (the witness folder holds only receipts)",
        "đối tượng không thuộc phiên ghi (thư mục của bên chứng kiến chỉ chứa biên nhận)",
    ),
    "tree_head_s_signature": (
        "the tree head's signature is not hex",
        "chữ ký của đầu cây không phải dạng hex",
    ),
    "exporter_s_key_trusted": (
        "the exporter's key is not the trusted key",
        "khoá của bên xuất không phải khoá tin cậy",
    ),
    "malformed_clip_proof_exc": (
        "malformed clip proof ({exc})",
        "bằng chứng đoạn trích sai dạng ({exc})",
    ),
    "chain_value_seq_hash": (
        "chain value {seq} is not the hash of chain/{seq:06d}.json",
        "giá trị chuỗi {seq} không phải mã băm của chain/{seq:06d}.json",
    ),
    "malformed_custody_excerpt_exc": (
        "malformed custody excerpt ({exc})",
        "trích lục lưu ký sai dạng ({exc})",
    ),
    "malformed_custody_entry_fields": (
        "malformed custody entry: fields {fields}",
        "dòng lưu ký sai dạng: các trường {fields}",
    ),
    "custody_entry_seq_r": (
        "custody entry {seq!r} has no row number",
        "dòng lưu ký {seq!r} không có số dòng",
    ),
    "custody_entry_seq_out": (
        "custody entry {seq} is out of order",
        "dòng lưu ký {seq} sai thứ tự",
    ),
    "custody_entry_seq_another": (
        "custody entry {seq} is of another session",
        "dòng lưu ký {seq} thuộc phiên ghi khác",
    ),
    "custody_entry_seq_utc": (
        "custody entry {seq}: 'at' is not a UTC timestamp",
        "dòng lưu ký {seq}: 'at' không phải mốc thời gian UTC",
    ),
    "custody_entry_seq_later": (
        "custody entry {seq} is later than the export",
        "dòng lưu ký {seq} muộn hơn thời điểm xuất",
    ),
    "custody_entry_seq_detail": (
        "custody entry {seq}: detail is not an object",
        "dòng lưu ký {seq}: detail không phải một đối tượng",
    ),
    "custody_entry_seq_carries": (
        "custody entry {seq} carries {withheld}, which the issuing office keeps to itself",
        "dòng lưu ký {seq} chứa {withheld}, là thông tin cơ quan phát hành giữ lại",
    ),
    "time_stamp_authority_s": (
        "the time-stamp authority's root is not the one whose fingerprint you expect "
        "(--expect-tsa)",
        "gốc của tổ chức cấp dấu thời gian không phải gốc có dấu vân tay bạn mong đợi "
        "(--expect-tsa)",
    ),
    "time_stamp_token_exc": (
        "not a time-stamp token ({exc})",
        "không phải dấu thời gian ({exc})",
    ),
    "token_does_verify_against": (
        "the token does not verify against the time-stamp authority's root ({exc})",
        "dấu thời gian không hợp lệ theo gốc của tổ chức cấp dấu thời gian ({exc})",
    ),
    "stamped_when_before_previous": (
        "stamped at {when}, before {previous} was stamped: a token was moved or replaced",
        "được đóng dấu lúc {when}, trước khi {previous} được đóng dấu: một dấu thời gian đã "
        "bị chuyển chỗ hoặc thay thế",
    ),
    "last_link_never_signed": (
        "the last link was never signed (cut off while sealing): not sealed",
        "mắt xích cuối chưa bao giờ được ký (bị cắt ngang khi niêm phong): chưa niêm phong",
    ),
    "custody_entry_seq_name": (
        "custody entry {seq}: {name!r} is not text",
        "dòng lưu ký {seq}: {name!r} không phải văn bản",
    ),
    "device_device_lost_twice": (
        "device {device} lost twice",
        "thiết bị {device} bị mất kết nối hai lần",
    ),
    "device_device_restored_never": (
        "device {device} restored but never lost",
        "thiết bị {device} được khôi phục nhưng chưa từng mất kết nối",
    ),
    "interrupted_ended_outside_session": (
        "interrupted at {ended_at}, outside the session's start {started_at} and its recovery "
        "{time}",
        "bị gián đoạn lúc {ended_at}, ngoài khoảng từ lúc bắt đầu {started_at} đến lúc khôi "
        "phục {time}",
    ),
    "malformed_installation": (
        "malformed: expected the installation's time zone (an IANA name) and its UTC offset "
        "(+HH:MM)",
        "sai dạng: cần múi giờ của hệ thống (tên IANA) và độ lệch so với UTC (+HH:MM)",
    ),
    # usage problems and results that are not a verdict on the evidence
    "no_trust_root": ("no trust root at {path}", "không có gốc tin cậy tại {path}"),
    "not_a_package": (
        "{package} is not a sealroom export package (expected a sessions/<id>/ directory)",
        "{package} không phải gói xuất của sealroom (cần thư mục sessions/<id>/)",
    ),
    "tokens_not_checked": (
        "everything else verified, but {count} time-stamp token(s) could not be checked: "
        "{why} (or pass --skip-time-stamps)",
        "mọi thứ khác đã được kiểm tra, nhưng {count} dấu thời gian không kiểm tra được: "
        "{why} (hoặc dùng --skip-time-stamps)",
    ),
    "needs_rfc3161": (
        "checking them needs the rfc3161-client package (pip install rfc3161-client)",
        "cần gói rfc3161-client để kiểm tra (pip install rfc3161-client)",
    ),
    "tsa_root_missing": (
        "the time-stamp authority's root is missing ({label})",
        "thiếu gốc của tổ chức cấp dấu thời gian ({label})",
    ),
    "needs_cryptography": (
        "verify.py needs the 'cryptography' package: pip install cryptography",
        "verify.py cần gói 'cryptography': pip install cryptography",
    ),
    # the report
    "package": ("Package:        {path}", "Gói:            {path}"),
    "trust_root": ("Trust root:     {label} ({subject})", "Gốc tin cậy:    {label} ({subject})"),
    "fingerprint": ("  SHA-256 fingerprint: {fingerprint}", "  dấu vân tay SHA-256: {fingerprint}"),
    "pin_matches": (
        "  matches the fingerprint you gave ({option})",
        "  khớp với dấu vân tay bạn đưa ({option})",
    ),
    "root_given": (
        "  the root you gave (--root), not the one the package carries",
        "  gốc bạn đưa (--root), không phải gốc đi kèm gói",
    ),
    "root_compare": (
        "  Compare it with the fingerprint the procuracy publishes: a package can\n"
        "  carry a root of anyone's making (or pass it with --expect-root).",
        "  Hãy so sánh với dấu vân tay do Viện kiểm sát công bố: một gói có thể\n"
        "  mang gốc do bất kỳ ai tạo ra (hoặc đưa dấu vân tay bằng --expect-root).",
    ),
    "exporter": (
        "Exporter:       {subject}  ({algorithm})",
        "Bên xuất:       {subject}  ({algorithm})",
    ),
    "exporter_signed": (
        "  signed {sig} at {at}; chains to the same trust root",
        "  đã ký {sig} lúc {at}; nối về cùng gốc tin cậy",
    ),
    "exporter_key": (
        "  exporter key SHA-256 {fingerprint}",
        "  khoá bên xuất SHA-256 {fingerprint}",
    ),
    "signer": (
        "Signer:         {signer}  ({algorithm})",
        "Bên ký:         {signer}  ({algorithm})",
    ),
    "signer_valid": (
        "  valid from {start}Z to {end}Z; chains to the trust root",
        "  hiệu lực từ {start}Z đến {end}Z; nối về gốc tin cậy",
    ),
    "session": ("Session:        {session}", "Phiên ghi:      {session}"),
    "case_number": ("  case number:  {case}", "  số vụ việc:   {case}"),
    "started": ("  started:      {at}", "  bắt đầu:      {at}"),
    "ended": ("  ended:        {at}", "  kết thúc:     {at}"),
    "ended_interrupted": (
        "  ended:        {at}  (interrupted)",
        "  kết thúc:     {at}  (bị gián đoạn)",
    ),
    "ended_recovered": (
        "  ended:        {at}  (interrupted; recovered {recovered})",
        "  kết thúc:     {at}  (bị gián đoạn; khôi phục {recovered})",
    ),
    "duration": (
        "  duration:     {clock} (pauses excluded)",
        "  thời lượng:   {clock} (không tính lúc tạm dừng)",
    ),
    "zone_note": (
        "Times:          in the installation's time zone ({zone}) and in UTC",
        "Thời gian:      theo múi giờ của hệ thống ({zone}) và theo UTC",
    ),
    "zone_fixed": (
        "Times:          this computer has no time zone data for {name}: local times use\n"
        "  the fixed offset UTC{offset} the package records, and UTC",
        "Thời gian:      máy này không có dữ liệu múi giờ cho {name}: giờ địa phương dùng\n"
        "  độ lệch cố định UTC{offset} mà gói ghi lại, và giờ UTC",
    ),
    "zone_unknown": (
        "Times:          in UTC: this package does not say which time zone its installation uses",
        "Thời gian:      theo UTC: gói này không ghi múi giờ của hệ thống đã xuất nó",
    ),
    "local_time": (
        "{local} ({zone}, UTC{offset}) = {utc} UTC",
        "{local} ({zone}, UTC{offset}) = {utc} UTC",
    ),
    "zone_vietnam": ("Viet Nam time", "giờ Việt Nam"),
    "zone_named": ("{name} time", "giờ {name}"),
    "chain": (
        "Chain:          {length} links, every one signed, unbroken",
        "Chuỗi băm:      {length} mắt xích, mọi mắt xích đều được ký, không đứt đoạn",
    ),
    "head": ("  head:         {head}", "  đầu chuỗi:    {head}"),
    "manifest_ok": (
        "Manifest:       signed, and exactly what the chain implies",
        "Bản kê:         đã ký, và đúng như chuỗi băm xác định",
    ),
    "sums_ok": (
        "SHA256SUMS:     signed, lists exactly the session's files",
        "SHA256SUMS:     đã ký, liệt kê đúng các tệp của phiên ghi",
    ),
    "segments": (
        "Segments:       {included} verified of {sealed} sealed",
        "Đoạn video:     {included} đã kiểm tra trên {sealed} đã niêm phong",
    ),
    "segment_line": (
        "  {path}  {start}  sha256 {sha256}  {state}",
        "  {path}  {start}  sha256 {sha256}  {state}",
    ),
    "segment_ok": ("OK", "OK (nguyên vẹn)"),
    "segment_absent": ("not included (outside the clip)", "không có trong gói (ngoài đoạn trích)"),
    "clip": (
        "Clip:           {start} to {end} of the recording, {count} segment(s), chain values "
        "match the signed head",
        "Đoạn trích:     từ {start} đến {end} của bản ghi, {count} đoạn video, các giá trị chuỗi "
        "khớp đầu chuỗi đã ký",
    ),
    "custody": (
        "Custody:        {count} entries of this session up to the export: who did what,\n"
        "  when and in which role, in order. This is the issuing office's signed statement\n"
        "  of its log (each seq is a row there), not a proof that nothing was left out.",
        "Lưu ký:         {count} dòng của phiên ghi này đến lúc xuất: ai làm gì, khi nào,\n"
        "  với vai trò nào, theo thứ tự. Đây là lời xác nhận có ký của cơ quan phát hành về\n"
        "  nhật ký của mình (mỗi seq là một dòng ở đó), không chứng minh rằng không có gì\n"
        "  bị bỏ sót.",
    ),
    "package_files": (
        "Package files:  {count} files, exactly as exported and signed ({sums})",
        "Tệp của gói:    {count} tệp, đúng như khi xuất và ký ({sums})",
    ),
    "witness_none": (
        "Witness:        NOT YET WITNESSED: no receipt from the off-box witness (reported,\n"
        "  not a sign of tampering: the witness may have been unreachable)",
        "Chứng kiến:     NOT YET WITNESSED — CHƯA ĐƯỢC CHỨNG KIẾN: không có biên nhận của bên\n"
        "  chứng kiến ngoài thiết bị (chỉ để báo, không phải dấu hiệu bị sửa đổi: có thể bên\n"
        "  chứng kiến đã không liên lạc được)",
    ),
    "witness_links": (
        "Witness:        {links} of {of} links have receipts",
        "Chứng kiến:     {links} trên {of} mắt xích có biên nhận",
    ),
    "witness_links_seal": (
        "Witness:        {links} of {of} links and the seal have receipts",
        "Chứng kiến:     {links} trên {of} mắt xích và niêm phong có biên nhận",
    ),
    "witness_late": (
        "  each in the witness's signed log; received at most {late:.1f} s after signing",
        "  mỗi biên nhận nằm trong nhật ký đã ký của bên chứng kiến; nhận muộn nhất {late:.1f} s "
        "sau khi ký",
    ),
    "witness_key": (
        "  witness key SHA-256 {fingerprint} ({origin})",
        "  khoá chứng kiến SHA-256 {fingerprint} ({origin})",
    ),
    "origin_given": ("given (--witness-key)", "do bạn đưa (--witness-key)"),
    "origin_pinned": (
        "carried by the package; matches --expect-witness",
        "đi kèm gói; khớp --expect-witness",
    ),
    "origin_unpinned": ("carried by the package, NOT pinned", "đi kèm gói, CHƯA được ghim"),
    "witness_unpinned": (
        "  WARNING: these receipts are signed by a key the package itself carries. Whoever\n"
        "  altered the package could have made that key and these receipts. They prove nothing\n"
        "  until the key's fingerprint above is compared with the one the witness's operator\n"
        "  publishes (or passed with --expect-witness, or the key given with --witness-key).",
        "  CẢNH BÁO: các biên nhận này được ký bằng một khoá do chính gói mang theo. Kẻ sửa\n"
        "  gói có thể đã tạo ra khoá đó và các biên nhận này. Chúng không chứng minh điều gì\n"
        "  cho đến khi dấu vân tay của khoá ở trên được so với dấu vân tay do bên vận hành\n"
        "  chứng kiến công bố (hoặc đưa bằng --expect-witness, hoặc đưa khoá bằng --witness-key).",
    ),
    "tsa_unpinned": (
        "  WARNING: the authority's root is the one the package carries (tsa-ca.pem): tokens\n"
        "  signed under a root of the forger's making would pass. Compare its fingerprint above\n"
        "  with the one the authority publishes (or pass it with --expect-tsa, or --tsa-root).",
        "  CẢNH BÁO: gốc của tổ chức cấp dấu thời gian là gốc đi kèm gói (tsa-ca.pem): dấu\n"
        "  thời gian ký dưới một gốc do kẻ giả mạo tạo ra cũng sẽ qua. Hãy so dấu vân tay ở\n"
        "  trên với dấu vân tay tổ chức đó công bố (hoặc dùng --expect-tsa, hoặc --tsa-root).",
    ),
    "stamps_unchecked": (
        "Time-stamps:    {count} token(s) NOT checked: {why}",
        "Dấu thời gian:  {count} dấu NOT CHECKED — CHƯA KIỂM TRA: {why}",
    ),
    "stamps": (
        "Time-stamps:    {count} token(s), each checked against the authority's root",
        "Dấu thời gian:  {count} dấu, mỗi dấu được kiểm tra theo gốc của tổ chức cấp",
    ),
    "stamps_root": (
        "  authority root: {label} ({subject})",
        "  gốc tổ chức cấp: {label} ({subject})",
    ),
    "stamps_seconds": (
        "  (the authority's times are read to the second)",
        "  (thời gian của tổ chức cấp được đọc đến từng giây)",
    ),
    "stamped": (
        "  {name}  stamped {when}  ({late:+.1f} s from the device)",
        "  {name}  đóng dấu {when}  ({late:+.1f} s so với thiết bị)",
    ),
    "stamps_link0": (
        "  the signer's certificate was checked at the authority's time for link 0",
        "  chứng thư của bên ký được kiểm tra theo thời gian của tổ chức cấp cho mắt xích 0",
    ),
    "stamps_skipped": (
        "  {count} time-stamp token(s) NOT checked (--skip-time-stamps)",
        "  {count} dấu thời gian NOT CHECKED — CHƯA KIỂM TRA (--skip-time-stamps)",
    ),
    "proves": ("What the signatures prove:", "Các chữ ký chứng minh điều gì:"),
    "proves_device": (
        "  the device's ({signer}): the recording. Every segment\n"
        "    listed OK is byte for byte what the room device sealed, in the sealed order.",
        "  của thiết bị ({signer}): bản ghi. Mọi đoạn video\n"
        "    ghi OK đều đúng từng byte như thiết bị phòng hỏi cung đã niêm phong, đúng thứ tự.",
    ),
    "proves_exporter_session": (
        "  the exporter's ({subject}): the selection. That\n"
        "    installation issued this package with these files: the whole recording,\n"
        "    and the custody excerpt as its office recorded it.",
        "  của bên xuất ({subject}): phần được chọn. Hệ thống\n"
        "    đó đã phát hành gói này với các tệp này: toàn bộ bản ghi,\n"
        "    và trích lục lưu ký đúng như cơ quan đó đã ghi.",
    ),
    "proves_exporter_clip": (
        "  the exporter's ({subject}): the selection. That\n"
        "    installation issued this package with these files: these segments, the clip's "
        "span,\n"
        "    and the custody excerpt as its office recorded it.",
        "  của bên xuất ({subject}): phần được chọn. Hệ thống\n"
        "    đó đã phát hành gói này với các tệp này: các đoạn video này, khoảng của trích "
        "đoạn,\n"
        "    và trích lục lưu ký đúng như cơ quan đó đã ghi.",
    ),
    "proves_witness": (
        "  the witness's ({origin}): what it received, off the box, and\n"
        "    when; a copy shortened and sealed again lacks the receipts it gave.",
        "  của bên chứng kiến ({origin}): những gì nó đã nhận, ngoài thiết bị, và\n"
        "    khi nào; một bản sao bị cắt ngắn rồi niêm phong lại sẽ thiếu các biên nhận đó.",
    ),
    "proves_witness_nothing": (
        "  the witness's receipts: NOTHING, until their key is pinned (see Witness)",
        "  biên nhận của bên chứng kiến: KHÔNG GÌ CẢ, cho đến khi khoá được ghim (xem Chứng kiến)",
    ),
    # verdicts: the machine-readable word stays, the Vietnamese follows it
    "result_intact": ("RESULT: INTACT", "RESULT: INTACT — KẾT QUẢ: NGUYÊN VẸN"),
    "result_not_intact": (
        "RESULT: NOT INTACT",
        "RESULT: NOT INTACT — KẾT QUẢ: KHÔNG NGUYÊN VẸN (đã bị sửa đổi hoặc không đầy đủ)",
    ),
    "result_not_checked": ("RESULT: NOT CHECKED", "RESULT: NOT CHECKED — KẾT QUẢ: CHƯA KIỂM TRA"),
    "failed_file": ("  file:   {where}", "  tệp:    {where}"),
    "failed_reason": ("  reason: {reason}", "  lý do:  {reason}"),
    "root_unpinned": (
        "  holds only if the trust root fingerprint printed above is the procuracy's published "
        "one (pin it with --expect-root)",
        "  chỉ đúng nếu dấu vân tay của gốc tin cậy in ở trên là dấu vân tay Viện kiểm sát công "
        "bố (ghim bằng --expect-root)",
    ),
    "result_witness_unpinned": (
        "  The witness's receipts are not part of this result: their key came with the\n"
        "  package (compare its fingerprint, or pass it with --expect-witness).",
        "  Biên nhận của bên chứng kiến không thuộc kết quả này: khoá của chúng đi kèm\n"
        "  gói (hãy so dấu vân tay, hoặc đưa bằng --expect-witness).",
    ),
    "result_tsa_unpinned": (
        "  The time-stamp tokens were checked against the authority's root the package\n"
        "  carries (compare its fingerprint, or pass it with --expect-tsa).",
        "  Các dấu thời gian được kiểm tra theo gốc của tổ chức cấp đi kèm gói\n"
        "  (hãy so dấu vân tay, hoặc đưa bằng --expect-tsa).",
    ),
    # help
    "help": (
        "Verify a sealroom export package. Exit 0 intact, 1 not intact, 2 usage.",
        "Kiểm tra một gói xuất của sealroom. Mã thoát 0 nguyên vẹn, 1 không nguyên vẹn, "
        "2 lỗi cách dùng.",
    ),
    "help_package": (
        "the package directory (default: the directory holding verify.py)",
        "thư mục của gói (mặc định: thư mục chứa verify.py)",
    ),
    "help_root": (
        "a trust root obtained independently (PEM)",
        "gốc tin cậy lấy từ nguồn độc lập (PEM)",
    ),
    "help_expect_root": (
        "the published SHA-256 fingerprint of the root",
        "dấu vân tay SHA-256 đã công bố của gốc",
    ),
    "help_tsa_root": (
        "a time-stamp authority's root obtained independently (PEM)",
        "gốc của tổ chức cấp dấu thời gian lấy từ nguồn độc lập (PEM)",
    ),
    "help_witness_key": (
        "the witness's public key (PEM), obtained independently; repeatable",
        "khoá công khai của bên chứng kiến (PEM), lấy từ nguồn độc lập; có thể lặp lại",
    ),
    "help_expect_witness": (
        "the published SHA-256 fingerprint of the witness's key (its DER); repeatable",
        "dấu vân tay SHA-256 đã công bố của khoá chứng kiến (dạng DER); có thể lặp lại",
    ),
    "help_expect_tsa": (
        "the published SHA-256 fingerprint of the time-stamp authority's root",
        "dấu vân tay SHA-256 đã công bố của gốc tổ chức cấp dấu thời gian",
    ),
    "help_expect_exporter": (
        "the published SHA-256 fingerprint of the exporting installation's key (its DER)",
        "dấu vân tay SHA-256 đã công bố của khoá hệ thống xuất gói (dạng DER)",
    ),
    "help_skip": (
        "verify everything else when the time-stamp tokens cannot be checked",
        "kiểm tra mọi thứ khác khi không kiểm tra được các dấu thời gian",
    ),
    "metavar_package": ("PACKAGE", "THU_MUC_GOI"),
    "help_lang": (
        "the language of the report: vi (default) or en; SEALROOM_LANG sets the default",
        "ngôn ngữ của báo cáo: vi (mặc định) hoặc en; biến SEALROOM_LANG đặt mặc định",
    ),
}


class Term:
    """A value that is itself a message (a code and its values): printed in the language of
    the message it fills."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params

    def text_in(self, language: str) -> str:
        return text(self.code, language, **self.params)


def text(code: str, language: str = "en", **params: Any) -> str:
    """The message ``code`` in ``language`` ("vi" or "en"), its {named} values filled in."""
    english, vietnamese = MESSAGES[code]
    values = {k: v.text_in(language) if isinstance(v, Term) else v for k, v in params.items()}
    return (vietnamese if language == "vi" else english).format(**values)


def default_language() -> str:
    """Vietnamese, unless SEALROOM_LANG asks for English (--lang decides over both)."""
    wanted = os.environ.get("SEALROOM_LANG", "").strip().lower()[:2]
    return wanted if wanted in LANGUAGES else "vi"


class Failure(Exception):
    """The first thing that did not verify: which file, and why (a message code with its
    values; ``reason`` is the English text, ``reason_in`` the text in either language)."""

    def __init__(self, where: str, code: str, **params: Any) -> None:
        self.where = where
        self.code = code
        self.params = params
        self.reason = text(code, "en", **params)
        super().__init__(f"{where}: {self.reason}")

    def reason_in(self, language: str) -> str:
        return text(self.code, language, **self.params)


class UsageProblem(Exception):
    """Not a package, or bad arguments (exit status 2): a message code with its values."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        super().__init__(text(code, "en", **params))

    def text_in(self, language: str) -> str:
        return text(self.code, language, **self.params)


def say(text: str = "") -> None:
    print(text, flush=True)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def shown(name: str) -> str:
    """A file name as messages print it: control characters (a line break would make one
    name read as two) and the backslash escaped, as the hand procedure escapes them."""
    special = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
    return "".join(
        special.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x20 or ord(c) == 0x7F else c)
        for c in name
    )


CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def only_files_and_directories(directory: Path, where: Callable[[str], str]) -> None:
    """Before step 1 (format section 8): no name with a control character, and nothing but
    regular files and directories (``where`` names an entry as messages print it). Entries
    are looked at with lstat: a symbolic link is never followed, out of the package or to a
    file that would pass for a sealed one."""
    entries: dict[str, int] = {}
    for parent, subdirectories, files in os.walk(directory):
        for name in subdirectories + files:
            path = Path(parent, name)
            entries[path.relative_to(directory).as_posix()] = path.lstat().st_mode
    for relative in sorted(entries):
        parts = relative.split("/")
        for end, part in enumerate(parts, 1):
            if CONTROL.search(part):
                raise Failure(
                    where("/".join(parts[:end])),
                    "name_line_break_another",
                )
    for relative, mode in sorted(entries.items()):
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            what = Term(
                "symbolic_link"
                if stat.S_ISLNK(mode)
                else "named_pipe"
                if stat.S_ISFIFO(mode)
                else "socket"
                if stat.S_ISSOCK(mode)
                else "device_file"
            )
            raise Failure(
                where(relative),
                "what_regular_file_files",
                what=what,
            )


def hex_of(fingerprint_text: str) -> str:
    """A fingerprint as given (AB:CD:..., abcd..., with or without colons): lower-case hex."""
    return re.sub(r"[^0-9a-f]", "", fingerprint_text.lower())


def fingerprint(der: bytes) -> str:
    """SHA-256 fingerprint as openssl prints it (AB:CD:...)."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)  # noqa: UP017


def clock(us: int) -> str:
    """Microseconds on the media timeline as H:MM:SS.mmm."""
    seconds, micro = divmod(us, 1_000_000)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{micro // 1000:03d}"


# -- 1. canonical JSON (format section 3) ------------------------------------------------------


def canonical(document: Any) -> bytes:
    """The one byte form: sorted keys, no whitespace, UTF-8 as itself, no floats."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(has_float(v) for v in value)
    return False


def load_canonical(data: bytes, where: str) -> dict[str, Any]:
    """Parse bytes that must already be canonical JSON; anything else is tampering."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Failure(where, "valid_json_exc", exc=exc) from exc
    if not isinstance(document, dict):
        raise Failure(where, "json_object")
    if has_float(document):
        raise Failure(where, "floating_point_numbers_are")
    if canonical(document) != data:
        raise Failure(where, "canonical_form_bytes_edited")
    return document


# -- 2. signatures (format section 5) ----------------------------------------------------------


def load_public_key(data: bytes, where: str) -> Any:
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise Failure(where, "pem_public_key") from exc
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise Failure(where, "unsupported_signing_key_type")


def key_der(key: Any) -> bytes:
    der: bytes = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der


def algorithm_of(key: Any) -> str:
    return "ed25519" if isinstance(key, ed25519.Ed25519PublicKey) else "ecdsa-p256-sha256"


def check_signature(key: Any, signature: bytes, message: bytes, where: str) -> None:
    """Ed25519: raw 64 bytes over the message. ECDSA P-256: DER, over SHA-256 of it."""
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise Failure(where, "signature_does_verify_signed") from exc


# -- 3. the signer and the trust root (format section 8, step 3) -------------------------------


def load_certificates(data: bytes, where: str) -> list[x509.Certificate]:
    """Every certificate of a PEM file, in order."""
    blocks = re.findall(
        rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", data, flags=re.DOTALL
    )
    if not blocks:
        raise Failure(where, "unreadable_certificate_pem_certificate")
    try:
        return [x509.load_pem_x509_certificate(block) for block in blocks]
    except ValueError as exc:
        raise Failure(where, "unreadable_certificate_exc", exc=exc) from exc


def extension(cert: x509.Certificate, kind: Any) -> Any:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def not_before(cert: x509.Certificate) -> datetime:
    if hasattr(cert, "not_valid_before_utc"):  # cryptography 42 and newer
        return cert.not_valid_before_utc
    return cert.not_valid_before.replace(tzinfo=timezone.utc)  # noqa: UP017 (Python 3.9)


def not_after(cert: x509.Certificate) -> datetime:
    if hasattr(cert, "not_valid_after_utc"):
        return cert.not_valid_after_utc
    return cert.not_valid_after.replace(tzinfo=timezone.utc)  # noqa: UP017


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` is named as the issuer and its key made the signature on ``cert``."""
    if cert.issuer != issuer.subject:
        return False
    key = issuer.public_key()
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            algorithm = cert.signature_hash_algorithm
            if algorithm is None:
                return False
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            algorithm = cert.signature_hash_algorithm
            if algorithm is None:
                return False
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def check_path(
    leaf: x509.Certificate,
    intermediates: list[x509.Certificate],
    root: x509.Certificate,
    at: datetime,
    where: str,
) -> None:
    """The leaf allows signatures and chains, each certificate valid at ``at``, to ``root``."""
    usage = extension(leaf, x509.KeyUsage)
    if usage is not None and not usage.digital_signature:
        raise Failure(where, "certificate_does_allow_digital")
    root_print = root.fingerprint(hashes.SHA256())
    current = leaf
    for _ in range(MAX_CHAIN_DEPTH):
        if not not_before(current) <= at <= not_after(current):
            raise Failure(
                where,
                "certificate_current_r_valid",
                current=current.subject.rfc4514_string(),
                at=at.isoformat(),
            )
        if current.fingerprint(hashes.SHA256()) == root_print:
            return
        candidates = [c for c in [root, *intermediates] if c != current]
        issuer = next((c for c in candidates if issued_by(current, c)), None)
        if issuer is None:
            raise Failure(
                where,
                "certificate_current_r_does",
                current=current.subject.rfc4514_string(),
            )
        constraints = extension(issuer, x509.BasicConstraints)
        if constraints is None or not constraints.ca:
            raise Failure(where, "issuer_issuer_r_ca", issuer=issuer.subject.rfc4514_string())
        current = issuer
    raise Failure(where, "certificate_chain_too_long")


class TrustRoot:
    """The root the verifier trusts: a CA certificate, or a pinned public key."""

    def __init__(self, path: Path, label: str) -> None:
        if not path.is_file():
            raise UsageProblem("no_trust_root", path=path)
        data = path.read_bytes()
        self.label = label
        self.certificate: x509.Certificate | None = None
        self.key_sha256: str | None = None
        if b"CERTIFICATE-----" in data:
            certificates = load_certificates(data, label)
            if len(certificates) != 1:
                raise Failure(label, "expected_exactly_one_root")
            self.certificate = certificates[0]
            der = self.certificate.public_bytes(serialization.Encoding.DER)
            self.subject = self.certificate.subject.rfc4514_string()
        elif b"PUBLIC KEY-----" in data:
            der = key_der(load_public_key(data, label))
            self.key_sha256 = sha256_hex(der)
            self.subject = "pinned public key"
        else:
            raise Failure(label, "neither_pem_certificate_nor")
        self.fingerprint = fingerprint(der)


# -- 4. the chain's rules (format section 4) ---------------------------------------------------

# A link's fields (format section 4): required, then optional. Every field that has a value is
# written, defaults too, so "required" here is about the bytes, not about meaning.
Fields = tuple[set[str], set[str]]  # required, optional
LINK_FIELDS: Fields = ({"v", "session", "seq", "prev", "time", "kind"}, {"segment", "event"})
SEGMENT_FIELDS: Fields = (
    {"index", "name", "sha256", "size", "start_us", "duration_us"},
    {"track"},  # a passthrough session's segments (format section 15)
)
METADATA_FIELDS: Fields = (
    {"case_number", "room", "accused", "investigators", "others_present", "timezone"},
    {"unit"},
)
MEDIA_FIELDS: Fields = (
    {
        "container",
        "video_codec",
        "audio_codec",
        "width",
        "height",
        "fps",
        "sample_rate",
        "channels",
        "segment_seconds",
    },
    set(),
)
TRACKED_MEDIA_FIELDS: Fields = (
    {"mode", "container", "audio_codec", "sample_rate", "channels", "segment_seconds", "tracks"},
    set(),
)
TRACK_FIELDS: Fields = ({"id", "kind", "device"}, set())
SIGNER_FIELDS: Fields = ({"algorithm", "public_key_sha256"}, {"certificate_sha256"})
PERSON_FIELDS: Fields = ({"name", "role"}, set())
# Each event type's fields besides "type": required, optional.
EVENT_FIELDS: dict[str, Fields] = {
    "session_started": ({"metadata", "media", "signer"}, set()),
    "paused": ({"reason"}, set()),
    "resumed": ({"reason"}, set()),
    "device_lost": ({"device", "reason"}, set()),
    "device_restored": ({"device"}, set()),
    "interrupted": ({"reason"}, {"ended_at"}),
    "stopped": ({"reason"}, set()),
    "clock_skew": ({"reason"}, set()),  # the time-stamp authority's time disagreed
    # Passthrough sessions (format section 15).
    "clock_corrected": ({"device", "reason"}, set()),
    "note": ({"reason"}, {"device"}),
    "device_stats": ({"stats"}, set()),
}
MEDIA_LIMITS = {
    "width": 7680,
    "height": 4320,
    "fps": 120,
    "sample_rate": 192000,
    "channels": 8,
    "segment_seconds": 60,
}
NAME_LIMIT, TEXT_LIMIT = 200, 2000  # characters: names of people, rooms, devices; reasons
# Unicode White_Space: no text value begins or ends with one of these.
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000")
)


COUNT_LIMIT = 10**18  # whole numbers in links stay below it (format section 3)


TRACK_ID = re.compile(r"^[a-z][a-z0-9]{0,15}$")
STATS_COUNTS = (
    "frames_received",
    "frames_dropped",
    "frames_filled",
    "silence_filled_samples",
    "samples_cut",
    "samples_resampled",
    "clock_corrections",
    "join_wait_us",
)


def segment_path(segment: dict[str, Any]) -> str:
    """Where a sealed segment lives in its session: under its track, if it has one."""
    track = segment.get("track")
    if track is None:
        return f"segments/{segment['name']}"
    return f"segments/{track}/{segment['name']}"


def check_stats_form(stats: Any) -> None:
    """device_stats: one entry per device, every count a whole number."""
    if not isinstance(stats, list):
        raise ValueError("stats must be a list")
    allowed = {"device", "kind", "track", "seal_latency", *STATS_COUNTS}
    for entry in stats:
        if not isinstance(entry, dict) or not set(entry) <= allowed:
            raise ValueError("device stats entry is malformed")
        if not is_text(entry.get("device"), NAME_LIMIT):
            raise ValueError(f"a device is named in 1 to {NAME_LIMIT} characters")
        if entry.get("kind") not in ("camera", "microphone"):
            raise ValueError("device stats kind must be camera or microphone")
        if not all(is_count(entry.get(name)) for name in STATS_COUNTS):
            raise ValueError("device stats counts must be whole numbers")
        if "track" in entry and not TRACK_ID.fullmatch(str(entry["track"])):
            raise ValueError("device stats name a malformed track")
        latency = entry.get("seal_latency", {})
        if not isinstance(latency, dict) or not all(is_count(v) for v in latency.values()):
            raise ValueError("seal latency must be whole microseconds")


def is_count(value: Any, minimum: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value < COUNT_LIMIT


def is_text(value: Any, limit: int) -> bool:
    """Non-empty, at most ``limit`` characters, not beginning or ending with white space."""
    return isinstance(value, str) and 0 < len(value) <= limit and value.strip(WHITESPACE) == value


def is_time(value: Any) -> bool:
    """A UTC timestamp of the stored form that names a real calendar time."""
    if not isinstance(value, str) or not TIMESTAMP.fullmatch(value):
        return False
    try:
        parse_time(value)
    except ValueError:
        return False
    return True


def is_sha256(value: Any) -> bool:
    return isinstance(value, str) and SHA256_HEX.fullmatch(value) is not None


def check_fields(value: Any, fields: Fields, what: str) -> dict[str, Any]:
    """``value`` is an object with all the required fields and no others but the optional."""
    required, optional = fields
    if not isinstance(value, dict):
        raise ValueError(f"{what} is not an object")
    if missing := sorted(required - set(value)):
        raise ValueError(f"{what} needs {', '.join(missing)}")
    if extra := sorted(set(value) - required - optional):
        raise ValueError(f"{what} carries no {', '.join(extra)}")
    return value


def check_segment_form(segment: Any) -> None:
    check_fields(segment, SEGMENT_FIELDS, "segment")
    counts = [("index", 0), ("size", 1), ("start_us", 0), ("duration_us", 1)]
    if not all(is_count(segment[name], low) for name, low in counts):
        raise ValueError("segment index, size, start and duration must be whole numbers")
    if not is_sha256(segment["sha256"]):
        raise ValueError("segment sha256 is not a SHA-256")
    if segment["name"] != f"{segment['index']:06d}.mp4":
        raise ValueError(f"segment {segment['index']} must be named {segment['index']:06d}.mp4")
    if "track" in segment and not TRACK_ID.fullmatch(str(segment["track"])):
        raise ValueError("segment track is not a track id")


def check_metadata_form(metadata: Any) -> None:
    check_fields(metadata, METADATA_FIELDS, "metadata")
    names = [metadata["case_number"], metadata["room"], metadata["timezone"]]
    if "unit" in metadata:
        names.append(metadata["unit"])
    for field in ("accused", "investigators", "others_present"):
        if not isinstance(metadata[field], list):
            raise ValueError(f"metadata {field} is not a list")
    names += metadata["accused"] + metadata["investigators"]
    for person in metadata["others_present"]:
        check_fields(person, PERSON_FIELDS, "a person present")
        names += [person["name"], person["role"]]
    if not all(is_text(name, NAME_LIMIT) for name in names):
        raise ValueError(
            f"metadata names are 1 to {NAME_LIMIT} characters, without white space around them"
        )


def check_media_form(media: Any) -> None:
    if isinstance(media, dict) and "mode" in media:
        check_tracked_media_form(media)
        return
    check_fields(media, MEDIA_FIELDS, "media")
    codecs = (media["container"], media["video_codec"], media["audio_codec"])
    if codecs != ("mp4", "h264", "aac"):
        raise ValueError("media must be mp4 with h264 and aac")
    for field, limit in MEDIA_LIMITS.items():
        if not is_count(media[field], 1) or media[field] > limit:
            raise ValueError(f"media {field} must be a whole number from 1 to {limit}")


def check_tracked_media_form(media: Any) -> None:
    """A passthrough session's media: its tracks (format section 15)."""
    check_fields(media, TRACKED_MEDIA_FIELDS, "media")
    if (media["mode"], media["container"], media["audio_codec"]) != ("passthrough", "mp4", "aac"):
        raise ValueError("passthrough media must be mp4 with aac sound")
    for field in ("sample_rate", "channels", "segment_seconds"):
        limit = MEDIA_LIMITS[field]
        if not is_count(media[field], 1) or media[field] > limit:
            raise ValueError(f"media {field} must be a whole number from 1 to {limit}")
    tracks = media["tracks"]
    if not isinstance(tracks, list) or not 1 <= len(tracks) <= 32:
        raise ValueError("media tracks are a list of 1 to 32")
    for track in tracks:
        check_fields(track, TRACK_FIELDS, "a track")
        if not TRACK_ID.fullmatch(str(track["id"])) or track["kind"] not in ("camera", "sound"):
            raise ValueError("a track has an id and a kind (camera or sound)")
        if not is_text(track["device"], NAME_LIMIT):
            raise ValueError(f"a device is named in 1 to {NAME_LIMIT} characters")
    if len({t["id"] for t in tracks}) != len(tracks):
        raise ValueError("track ids must be distinct")
    if len({t["device"] for t in tracks}) != len(tracks):
        raise ValueError("each track has its own device")


def check_signer_form(signer: Any) -> None:
    check_fields(signer, SIGNER_FIELDS, "signer")
    if signer["algorithm"] not in ("ed25519", "ecdsa-p256-sha256"):
        raise ValueError("signer algorithm must be ed25519 or ecdsa-p256-sha256")
    digests = [signer["public_key_sha256"], signer.get("certificate_sha256", "0" * 64)]
    if not all(is_sha256(digest) for digest in digests):
        raise ValueError("signer digests must be SHA-256")


def check_event_form(event: Any) -> None:
    if not isinstance(event, dict):
        raise ValueError("event is not an object")
    if event.get("type") not in EVENT_FIELDS:
        raise ValueError(f"unknown event type {event.get('type')!r}")
    kind = event["type"]
    required, optional = EVENT_FIELDS[kind]
    check_fields(event, ({"type"} | required, optional), f"a {kind} event")
    if "reason" in event and not is_text(event["reason"], TEXT_LIMIT):
        raise ValueError(f"a reason is 1 to {TEXT_LIMIT} characters, without white space around it")
    if "device" in event and not is_text(event["device"], NAME_LIMIT):
        raise ValueError(f"a device is named in 1 to {NAME_LIMIT} characters")
    if "ended_at" in event and not is_time(event["ended_at"]):
        raise ValueError("ended_at is not a UTC timestamp")
    if kind == "device_stats":
        check_stats_form(event["stats"])
    if kind == "session_started":
        check_metadata_form(event["metadata"])
        check_media_form(event["media"])
        check_signer_form(event["signer"])


def check_link_form(link: dict[str, Any], where: str) -> None:
    """A link is exactly one of the shapes format section 4 describes, every value in its
    exact form (the sealroom verifier's model, written out)."""
    try:
        check_fields(link, LINK_FIELDS, "link")
        if link["v"] != 1 or isinstance(link["v"], bool):
            raise ValueError(f"format version {link['v']!r} is not 1")
        if not isinstance(link["session"], str) or not SESSION_ID.fullmatch(link["session"]):
            raise ValueError("session is not a session id")
        if not is_count(link["seq"]):
            raise ValueError("seq is not a number")
        if not is_sha256(link["prev"]):
            raise ValueError("prev is not a SHA-256")
        if not is_time(link["time"]):
            raise ValueError("time is not a UTC timestamp")
        kind = link["kind"]
        if kind not in ("segment", "event") or set(link) & {"segment", "event"} != {kind}:
            raise ValueError("a link carries exactly the payload its kind names")
        if kind == "segment":
            check_segment_form(link["segment"])
        else:
            check_event_form(link["event"])
    except ValueError as exc:
        raise Failure(where, "malformed_link_exc", exc=exc) from exc


class Chain:
    """Replays the links in order; ``apply`` enforces the chain's rules (format section 4)."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.head = ZERO_HASH
        self.length = 0
        self.state = "new"  # new, recording, paused, stopped, interrupted
        self.start_event: dict[str, Any] = {}
        self.started_at = ""
        self.ended_at = ""
        self.recovered_at = ""  # an interrupted session's recovery, when it records its end
        self.end_reason = ""
        self.last_time = ""  # the newest link's time: no link may be earlier
        self.segments: list[dict[str, Any]] = []
        self.pauses: list[dict[str, Any]] = []
        self.outages: list[dict[str, Any]] = []
        self.lost: set[str] = set()
        # Passthrough sessions: each track's segments, clock corrections per device, notes,
        # and the last device stats.
        self.tracks: dict[str, list[dict[str, Any]]] = {}
        self.corrections: dict[str, int] = {}
        self.notes: list[dict[str, Any]] = []
        self.stats: list[dict[str, Any]] | None = None

    @property
    def ended(self) -> bool:
        return self.state in ("stopped", "interrupted")

    @property
    def track_ids(self) -> list[str] | None:
        """The session's tracks, or None for a session of one composite picture."""
        media = self.start_event.get("media", {})
        if not isinstance(media, dict) or media.get("mode") != "passthrough":
            return None
        return [str(t.get("id")) for t in media.get("tracks", []) if isinstance(t, dict)]

    @property
    def duration_us(self) -> int:
        if self.track_ids is not None:
            return max((s["start_us"] + s["duration_us"] for s in self.segments), default=0)
        last = self.segments[-1] if self.segments else None
        return last["start_us"] + last["duration_us"] if last else 0

    def apply(self, link: dict[str, Any], body: bytes, where: str) -> None:
        if link["session"] != self.session_id:
            raise Failure(
                where,
                "link_belongs_session_session",
                session=link["session"],
                session_id=self.session_id,
            )
        if link["seq"] != self.length:
            raise Failure(where, "link_says_seq_seq", seq=link["seq"], length=self.length)
        if link["prev"] != self.head:
            raise Failure(
                where,
                "prev_does_match_hash",
            )
        if self.ended:
            raise Failure(where, "link_after_session_ended", state=self.state)
        # Fixed-width UTC timestamps: text order is time order.
        if link["time"] < self.last_time:
            raise Failure(
                where,
                "link_time_time_before",
                time=link["time"],
                last_time=self.last_time,
            )
        if link["kind"] == "segment":
            self.apply_segment(link["segment"], where)
        else:
            self.apply_event(link["event"], link["time"], where)
        self.head = sha256_hex(body)
        self.length += 1
        self.last_time = link["time"]

    def apply_segment(self, segment: dict[str, Any], where: str) -> None:
        if self.state != "recording":
            raise Failure(where, "segment_while_session_state", state=self.state)
        tracks = self.track_ids
        if tracks is not None:
            self.apply_track_segment(tracks, segment, where)
            return
        if "track" in segment:
            raise Failure(where, "segment_names_track_session")
        if segment["index"] != len(self.segments):
            raise Failure(
                where,
                "segment_index_index_where",
                index=segment["index"],
                segment_count=len(self.segments),
            )
        if segment["start_us"] != self.duration_us:
            raise Failure(where, "segment_start_does_continue")
        self.segments.append(segment)

    def apply_track_segment(self, tracks: list[str], segment: dict[str, Any], where: str) -> None:
        """A track's segments are numbered from 0 and never overlap; gaps are allowed."""
        track = segment.get("track")
        if track not in tracks:
            raise Failure(
                where,
                "segment_unknown_track_track",
                track=track,
                tracks=", ".join(tracks),
            )
        earlier = self.tracks.setdefault(track, [])
        if segment["index"] != len(earlier):
            raise Failure(
                where,
                "segment_index_index_track",
                index=segment["index"],
                track=track,
                earlier_count=len(earlier),
            )
        end = earlier[-1]["start_us"] + earlier[-1]["duration_us"] if earlier else 0
        if earlier and segment["start_us"] < end:
            raise Failure(where, "segment_starts_before_end", track=track)
        earlier.append(segment)
        self.segments.append(segment)

    def apply_event(self, event: dict[str, Any], time: str, where: str) -> None:
        kind = event["type"]
        if (kind == "session_started") != (self.state == "new"):
            raise Failure(where, "chain_must_open_exactly")
        if kind == "session_started":
            self.start_event, self.started_at, self.state = event, time, "recording"
        elif kind == "paused":
            self.require("recording", kind, where)
            self.pauses.append({"paused_at": time, "reason": event["reason"]})
            self.state = "paused"
        elif kind == "resumed":
            self.require("paused", kind, where)
            self.pauses[-1].update(resumed_at=time, resume_reason=event["reason"])
            self.state = "recording"
        elif kind == "device_lost":
            if event["device"] in self.lost:
                raise Failure(where, "device_device_lost_twice", device=event["device"])
            self.lost.add(event["device"])
            self.outages.append(
                {"device": event["device"], "lost_at": time, "reason": event["reason"]}
            )
        elif kind == "clock_skew":
            pass  # a mark on the record (format section 13): it changes nothing else
        elif kind == "device_restored":
            if event["device"] not in self.lost:
                raise Failure(where, "device_device_restored_never", device=event["device"])
            self.lost.discard(event["device"])
            for outage in reversed(self.outages):
                if outage["device"] == event["device"]:
                    outage["restored_at"] = time
                    break
        elif kind == "clock_corrected":
            self.corrections[event["device"]] = self.corrections.get(event["device"], 0) + 1
        elif kind == "note":
            note = {"at": time, "reason": event["reason"]}
            if "device" in event:
                note["device"] = event["device"]
            self.notes.append(note)
        elif kind == "device_stats":
            self.check_stats(event["stats"], where)
            self.stats = event["stats"]
        elif kind == "interrupted" and "ended_at" in event:
            # Cut off at ended_at (its last sealed media); recovered at the link's time.
            if not self.started_at <= event["ended_at"] <= time:
                raise Failure(
                    where,
                    "interrupted_ended_outside_session",
                    ended_at=event["ended_at"],
                    started_at=self.started_at,
                    time=time,
                )
            self.ended_at, self.recovered_at = event["ended_at"], time
            self.end_reason, self.state = event["reason"], kind
        else:  # stopped, or interrupted as recorded before the cut-off time was
            self.ended_at, self.end_reason, self.state = time, event["reason"], kind

    def check_stats(self, stats: list[dict[str, Any]], where: str) -> None:
        """Each device once; the clock corrections counted under a device's name are those
        the chain records for it (a camera and a microphone may share a name)."""
        devices = [(entry["kind"], entry["device"]) for entry in stats]
        if len(set(devices)) != len(devices):
            raise Failure(where, "device_stats_name_device")
        tracks = self.track_ids or []
        for entry in stats:
            if "track" in entry and entry["track"] not in tracks:
                raise Failure(
                    where,
                    "device_stats_device_name",
                    device=entry["device"],
                    track=entry["track"],
                )
        for device in sorted({e["device"] for e in stats} | set(self.corrections)):
            counted = sum(e["clock_corrections"] for e in stats if e["device"] == device)
            chained = self.corrections.get(device, 0)
            if counted != chained:
                raise Failure(
                    where,
                    "device_stats_count_counted",
                    counted=counted,
                    device=device,
                    chained=chained,
                )

    def gaps(self) -> list[dict[str, Any]]:
        """Each track's stretches without segments: before its first, and between two."""
        found = []
        for track in self.track_ids or []:
            end = 0
            for segment in self.tracks.get(track, []):
                if segment["start_us"] > end:
                    found.append({"track": track, "from_us": end, "to_us": segment["start_us"]})
                end = segment["start_us"] + segment["duration_us"]
        return found

    def require(self, state: str, kind: str, where: str) -> None:
        if self.state != state:
            raise Failure(where, "kind_while_session_state", kind=kind, state=self.state)

    def manifest(self, head_signature: bytes, checksums_sha256: str) -> dict[str, Any]:
        """The manifest this chain implies (format section 6)."""
        derived: dict[str, Any] = {}
        if self.stats is not None:
            derived["devices"] = self.stats
        if self.notes:
            derived["notes"] = self.notes
        if self.track_ids is not None:
            derived["gaps"] = self.gaps()
        if self.recovered_at:
            derived["recovered_at"] = self.recovered_at
        return {
            **derived,
            "v": 1,
            "type": "sealroom.manifest",
            "session": self.session_id,
            "metadata": self.start_event["metadata"],
            "media": self.start_event["media"],
            "signer": self.start_event["signer"],
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "stop_reason": self.end_reason,
            "interrupted": self.state == "interrupted",
            "pauses": self.pauses,
            "device_outages": self.outages,
            "segments": self.segments,
            "duration_us": self.duration_us,
            "chain": {
                "algorithm": "sha256",
                "length": self.length,
                "head": self.head,
                "head_signature": head_signature.hex(),
            },
            "checksums_sha256": checksums_sha256,
        }


def first_difference(stored: Any, expected: Any, path: str = "") -> str:
    if isinstance(stored, dict) and isinstance(expected, dict):
        for key in sorted(set(stored) | set(expected)):
            if stored.get(key) != expected.get(key):
                return first_difference(stored.get(key), expected.get(key), f"{path}.{key}")
    if isinstance(stored, list) and isinstance(expected, list) and len(stored) == len(expected):
        for i in range(len(stored)):
            if stored[i] != expected[i]:
                return first_difference(stored[i], expected[i], f"{path}[{i}]")
    return path.lstrip(".") or "(whole document)"


# -- 5. the session directory ------------------------------------------------------------------


class Session:
    """Verifies one session directory of the package, as format section 8 orders it."""

    def __init__(
        self,
        package: Path,
        directory: Path,
        root: TrustRoot,
        clip: Clip | None,
        stamps: TimeStamps | None = None,
        witness: WitnessKeys | None = None,
    ):
        self.stamps = stamps
        self.witness = witness
        self.package = package
        self.dir = directory
        self.session_id = directory.name
        self.root = root
        self.clip = clip
        self.digests: dict[str, str] = {}  # session-relative path -> SHA-256 of what is here
        self.files = sorted(
            p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()
        )
        self.absent: list[dict[str, Any]] = []  # segments outside the clip, not included

    @property
    def sealed(self) -> bool:
        return "manifest.json" in self.files

    def where(self, relative: str) -> str:
        """A path as the reader finds it in the package."""
        return shown((self.dir / relative).relative_to(self.package).as_posix())

    def read(self, relative: str) -> bytes:
        if relative not in self.files:
            raise Failure(self.where(relative), "missing")
        data = (self.dir / relative).read_bytes()
        self.digests[relative] = sha256_hex(data)
        return data

    def run(self) -> dict[str, Any]:
        only_files_and_directories(self.dir, self.where)
        key = load_public_key(
            self.read("signer/public_key.pem"), self.where("signer/public_key.pem")
        )
        certificate, intermediates = self.certificates()
        last_signature = b""
        signer = ""
        chain = Chain(self.session_id)
        while f"chain/{chain.length:06d}.json" in self.files:
            seq = chain.length
            name, sig_name = f"chain/{seq:06d}.json", f"chain/{seq:06d}.sig"
            body = self.read(name)
            if sig_name not in self.files:
                if f"chain/{seq + 1:06d}.json" not in self.files and not self.sealed:
                    raise Failure(
                        self.where(name),
                        "last_link_never_signed",
                    )
                raise Failure(self.where(sig_name), "signature_missing")
            last_signature = self.read(sig_name)
            check_signature(key, last_signature, body, self.where(name))
            link = load_canonical(body, self.where(name))
            check_link_form(link, self.where(name))
            chain.apply(link, body, self.where(name))
            if seq == 0:
                started = self.stamps.start_time(self, body, link["time"]) if self.stamps else None
                signer = self.check_signer(
                    chain, key, certificate, intermediates, started or link["time"]
                )
            if link["kind"] == "segment":
                self.check_segment(link["segment"])
        if chain.length == 0:
            raise Failure(
                self.where("chain/000000.json"),
                "missing_session_s_first",
                file_count=len(self.files),
            )
        self.no_strays(chain)
        witnessed = check_receipts(self, chain, self.witness)  # section 5b
        manifest = self.check_manifest(key, chain, last_signature)
        return {
            "signer": signer,
            "certificate": certificate,
            "algorithm": algorithm_of(key),
            "manifest": manifest,
            "chain_length": chain.length,
            "head": chain.head,
            "segments": chain.segments,
            "witness": witnessed,
        }

    def certificates(self) -> tuple[x509.Certificate | None, list[x509.Certificate]]:
        certificate = None
        if "signer/certificate.pem" in self.files:
            where = self.where("signer/certificate.pem")
            found = load_certificates(self.read("signer/certificate.pem"), where)
            if len(found) != 1:
                raise Failure(where, "expected_exactly_one_certificate")
            certificate = found[0]
        intermediates: list[x509.Certificate] = []
        if "signer/chain.pem" in self.files:
            data = self.read("signer/chain.pem")
            intermediates = load_certificates(data, self.where("signer/chain.pem"))
        return certificate, intermediates

    def check_signer(
        self,
        chain: Chain,
        key: Any,
        certificate: x509.Certificate | None,
        intermediates: list[x509.Certificate],
        started: str,
    ) -> str:
        """Link 0 binds the key and certificate; the signer must be anchored in the root."""
        claimed = chain.start_event["signer"]
        if sha256_hex(key_der(key)) != claimed["public_key_sha256"]:
            raise Failure(
                self.where("signer/public_key.pem"),
                "public_key_one_session",
            )
        where_cert = self.where("signer/certificate.pem")
        if certificate is None:
            if claimed.get("certificate_sha256") is not None:
                raise Failure(where_cert, "session_started_certificate_now")
            if self.root.key_sha256 != sha256_hex(key_der(key)):
                raise Failure(
                    self.where("signer/public_key.pem"),
                    "signing_key_certificate_trusted",
                )
            return f"pinned public key sha256:{self.root.key_sha256}"
        der = certificate.public_bytes(serialization.Encoding.DER)
        if sha256_hex(der) != claimed.get("certificate_sha256"):
            raise Failure(where_cert, "certificate_one_session_started")
        if key_der(certificate.public_key()) != key_der(key):
            raise Failure(where_cert, "certificate_does_match_signing")
        if self.root.certificate is None:
            raise Failure(where_cert, "trust_root_public_key")
        check_path(
            certificate, intermediates, self.root.certificate, parse_time(started), where_cert
        )
        return certificate.subject.rfc4514_string()

    def check_segment(self, segment: dict[str, Any]) -> None:
        relative = segment_path(segment)
        if relative not in self.files:
            # Left out on purpose only if the signed clip's span does not reach it.
            if self.clip is not None and not self.clip.covers(segment):
                self.absent.append(segment)
                self.digests[relative] = segment["sha256"]
                return
            raise Failure(self.where(relative), "segment_missing_deleted_renamed")
        size, digest = sha256_file(self.dir / relative)
        if size != segment["size"]:
            state = Term("shorter" if size < segment["size"] else "longer")
            raise Failure(
                self.where(relative),
                "segment_size_bytes_chain",
                size=size,
                size2=segment["size"],
                state=state,
            )
        if digest != segment["sha256"]:
            raise Failure(
                self.where(relative),
                "segment_content_does_match",
            )
        self.digests[relative] = digest

    def no_strays(self, chain: Chain) -> None:
        expected = set(self.digests) | set(SEALING_FILES)
        expected |= {f"chain/{seq:06d}.sig" for seq in range(chain.length)}
        expected |= token_names(chain.length)  # checked last (TimeStamps)
        for relative in self.files:
            if relative not in expected and not relative.startswith(WITNESS_DIR):  # see 5b
                raise Failure(
                    self.where(relative),
                    "object_part_sealed_chain",
                )

    def check_manifest(self, key: Any, chain: Chain, last_signature: bytes) -> dict[str, Any]:
        where = self.where("manifest.json")
        if "manifest.json" not in self.files:
            raise Failure(
                where,
                "sealed_chain_intact_up",
                length=chain.length - 1,
            )
        body = self.read("manifest.json")
        if "manifest.sig" not in self.files:
            raise Failure(self.where("manifest.sig"), "missing")
        check_signature(key, self.read("manifest.sig"), body, where)
        stored = load_canonical(body, where)
        if stored.get("v") != 1 or stored.get("type") != "sealroom.manifest":
            raise Failure(where, "version_1_sealroom_manifest")
        sealed: dict[str, Any] = stored["chain"] if isinstance(stored.get("chain"), dict) else {}
        if not chain.ended:
            raise Failure(
                where,
                "manifest_seals_length_links",
                length=sealed.get("length"),
                length2=chain.length,
            )
        checksums = self.check_checksums(key)
        expected = chain.manifest(last_signature, sha256_hex(checksums))
        if sealed.get("length") != chain.length or sealed.get("head") != chain.head:
            raise Failure(
                where,
                "manifest_seals_length_links_2",
                length=sealed.get("length"),
                head=str(sealed.get("head"))[:16],
                length2=chain.length,
                head2=chain.head[:16],
            )
        if canonical(stored) != canonical(expected):
            field = first_difference(stored, expected)
            raise Failure(where, "manifest_field_field_r", field=field)
        return stored

    def check_checksums(self, key: Any) -> bytes:
        where = self.where("SHA256SUMS")
        body = self.read("SHA256SUMS")
        if "SHA256SUMS.sig" not in self.files:
            raise Failure(self.where("SHA256SUMS.sig"), "missing")
        check_signature(key, self.read("SHA256SUMS.sig"), body, where)
        listed = {k: v for k, v in self.digests.items() if k not in SEALING_FILES}
        text = "".join(f"{listed[path]}  {path}\n" for path in sorted(listed, key=str.encode))
        if body != text.encode("utf-8"):
            raise Failure(where, "does_list_exactly_session")
        return body


# -- 5b. the off-box witness's receipts (format section "Witness receipts") -------------------
#
# Each receipt witness/NNNNNN.json (link NNNNNN) or witness/manifest.json (the seal) says that
# the witness, a transparency log (RFC 9162), received exactly that head's bytes at
# received_at: its entry is a leaf of the witness's Merkle tree, the inclusion proof leads to
# the root of a tree head, and the witness key signs the tree head. A session may have none
# yet ("not yet witnessed"): that is reported, not a failure.

WITNESS_DIR = "witness/"
SEAL_RECEIPT = "witness/manifest.json"
WITNESS_KEYS = "witness"  # the package's folder of witness public keys (PEM)
ENTRY_FIELDS = {"v", "type", "session", "kind", "seq", "sha256", "device", "received_at", "fork"}
HEAD_FIELDS = {"v", "type", "log", "tree_size", "root_hash", "timestamp", "signature"}


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162, section 2.1.3.2, step by step."""
    if index >= size or index < 0:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


class WitnessKeys:
    """The witness keys believed: given with --witness-key, else those the package carries
    (whose fingerprints are printed, to compare with the ones the procuracy publishes)."""

    def __init__(self, package: Path, given: list[Path], pins: list[str] | None = None) -> None:
        files = [Path(f) for f in given] or sorted((package / WITNESS_KEYS).glob("*.pem"))
        self.given = bool(given)
        self.pinned = bool(pins)
        wanted = {hex_of(pin) for pin in pins or []}
        self.keys: dict[str, Any] = {}
        for file in files:
            data = file.read_bytes()
            if b"CERTIFICATE-----" in data:
                key = load_certificates(data, str(file))[0].public_key()
            else:
                key = load_public_key(data, str(file))
            # With a pin, a key whose fingerprint is not pinned is not believed: its receipts
            # fail as signed by a key that is not trusted.
            if not wanted or sha256_hex(key_der(key)) in wanted:
                self.keys[sha256_hex(key_der(key))] = key

    @property
    def independent(self) -> bool:
        """Whether the keys believed came from outside the package (given, or pinned)."""
        return self.given or self.pinned

    def origin(self) -> Term:
        if self.given:
            return Term("origin_given")
        if self.pinned:
            return Term("origin_pinned")
        return Term("origin_unpinned")


def check_receipt_form(receipt: dict[str, Any], where: str) -> None:
    entry, head = receipt.get("entry"), receipt.get("tree_head")
    if (
        set(receipt) != {"v", "type", "entry", "leaf_index", "inclusion", "tree_head"}
        or receipt["v"] != 1
        or receipt["type"] != "sealroom.witness-receipt"
        or not isinstance(entry, dict)
        or not isinstance(head, dict)
        or not is_count(receipt["leaf_index"])
        or not isinstance(receipt["inclusion"], list)
        or not all(isinstance(p, str) and SHA256_HEX.match(p) for p in receipt["inclusion"])
    ):
        raise Failure(where, "version_1_witness_receipt")
    if (
        not set(entry) <= ENTRY_FIELDS
        or set(entry) < ENTRY_FIELDS - {"seq"}
        or entry["v"] != 1
        or entry["type"] != "sealroom.witness-entry"
        or entry["kind"] not in ("link", "seal")
        or ("seq" in entry) != (entry["kind"] == "link")
        or ("seq" in entry and not is_count(entry["seq"]))
        or not isinstance(entry["sha256"], str)
        or not SHA256_HEX.match(entry["sha256"])
        or not isinstance(entry["received_at"], str)
        or not TIMESTAMP.match(entry["received_at"])
        or not isinstance(entry["fork"], bool)
    ):
        raise Failure(where, "receipt_s_entry_version")
    if (
        set(head) != HEAD_FIELDS
        or head["v"] != 1
        or head["type"] != "sealroom.tree-head"
        or not is_count(head["tree_size"])
        or not all(isinstance(head[f], str) for f in ("log", "root_hash", "timestamp", "signature"))
        or not SHA256_HEX.match(head["root_hash"])
    ):
        raise Failure(where, "receipt_s_tree_head")


def check_receipts(session: Session, chain: Chain, witness: WitnessKeys | None) -> dict[str, Any]:
    """Every receipt of the session, in name order; the first that does not hold fails."""
    trusted = witness.keys if witness is not None else {}
    names = sorted(f for f in session.files if f.startswith(WITNESS_DIR))
    witnessed: list[int] = []
    lateness: dict[str, float] = {}
    logs: set[str] = set()
    seal_witnessed = False
    for name in names:
        where = session.where(name)
        if name == SEAL_RECEIPT:
            seq, head_name = None, "manifest.json"
        else:
            stem = name[len(WITNESS_DIR) :].removesuffix(".json")
            if not (len(stem) == 6 and stem.isdigit() and name == f"witness/{stem}.json"):
                raise Failure(
                    where,
                    "object_part_session_witness",
                )
            seq, head_name = int(stem), f"chain/{stem}.json"
        receipt = load_canonical((session.dir / name).read_bytes(), where)
        check_receipt_form(receipt, where)
        entry, head = receipt["entry"], receipt["tree_head"]
        if entry["session"] != session.session_id:
            raise Failure(where, "receipt_session_session", session=entry["session"])
        if entry["fork"]:
            raise Failure(where, "fork_witness_refused_receipt")
        if entry["kind"] != ("seal" if seq is None else "link") or entry.get("seq") != seq:
            raise Failure(where, "receipt_another_head_than")
        if head_name not in session.files:
            raise Failure(
                where,
                "witness_holds_seal_gone" if seq is None else "witness_holds_link_gone",
                seq=seq,
            )
        body = (session.dir / head_name).read_bytes()
        if sha256_hex(body) != entry["sha256"]:
            raise Failure(
                where,
                "head_name_one_witness",
                head_name=head_name,
                received_at=entry["received_at"],
            )
        key = trusted.get(head["log"])
        if key is None:
            raise Failure(
                where,
                "signed_witness_key_sha256",
                log=head["log"],
            )
        signed = canonical({k: v for k, v in head.items() if k != "signature"})
        try:
            signature = bytes.fromhex(head["signature"])
        except ValueError as exc:
            raise Failure(where, "tree_head_s_signature") from exc
        check_signature(key, signature, signed, where)
        proof = [bytes.fromhex(p) for p in receipt["inclusion"]]
        if not verify_inclusion(
            receipt["leaf_index"],
            head["tree_size"],
            leaf_hash(canonical(entry)),
            proof,
            bytes.fromhex(head["root_hash"]),
        ):
            raise Failure(where, "entry_witness_s_signed")
        logs.add(head["log"])
        signed_at = json.loads(body)["ended_at" if seq is None else "time"]
        lateness[head_name] = (
            parse_time(entry["received_at"]) - parse_time(signed_at)
        ).total_seconds()
        if seq is None:
            seal_witnessed = True
        else:
            witnessed.append(seq)
    return {
        "links": len(witnessed),
        "of": chain.length,
        "seal": seal_witnessed,
        "lateness": lateness,
        "logs": sorted(logs),
    }


def zone_data(name: str) -> tzinfo | None:
    """The zone ``name`` from this machine's time zone data, if it has that data."""
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except (ImportError, ValueError, KeyError, OSError):  # no module, no data, unknown name
        return None


class Zone:
    """The installation's time zone, as the package records it (installation.json): times
    are printed there and in UTC. Without zone data on this machine (Windows without the
    tzdata package), the fixed offset the package records stands in, and the report says so."""

    def __init__(self, data: bytes) -> None:
        try:
            document = json.loads(data.decode("utf-8"))
            self.name = document["timezone"]
            self.offset = document["utc_offset"]
        except (ValueError, KeyError, TypeError) as exc:
            raise Failure(INSTALLATION, "malformed_installation") from exc
        if not (
            isinstance(self.name, str)
            and ZONE_NAME.fullmatch(self.name)
            and isinstance(self.offset, str)
            and UTC_OFFSET.fullmatch(self.offset)
        ):
            raise Failure(INSTALLATION, "malformed_installation")
        hours, minutes = int(self.offset[1:3]), int(self.offset[4:6])
        sign = -1 if self.offset[0] == "-" else 1
        self.tz: tzinfo = timezone(sign * timedelta(hours=hours, minutes=minutes))
        named = zone_data(self.name)
        self.fixed = named is None
        if named is not None:
            self.tz = named

    def label(self) -> Term:
        if self.name in ("Asia/Ho_Chi_Minh", "Asia/Saigon"):
            return Term("zone_vietnam")
        return Term("zone_named", name=self.name)

    def show(self, moment: datetime, language: str) -> str:
        local = moment.astimezone(self.tz)
        offset = local.strftime("%z")
        return text(
            "local_time",
            language,
            local=f"{local:%Y-%m-%d %H:%M:%S}",
            zone=self.label(),
            offset=f"{offset[:3]}:{offset[3:]}",
            utc=f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S}",  # noqa: UP017
        )


class Report:
    """Prints the report in its language, one line at a time to ``lines``; times in the
    installation's zone as well as UTC once the package has said which zone that is."""

    def __init__(self, lines: Callable[[str], None], language: str) -> None:
        self.lines = lines
        self.language = language
        self.zone: Zone | None = None

    def __call__(self, code: str, **params: Any) -> None:
        for line in text(code, self.language, **params).split("\n"):
            self.lines(line)

    def moment(self, when: datetime) -> str:
        if self.zone is None:
            return f"{when:%Y-%m-%d %H:%M:%S}Z"
        return self.zone.show(when, self.language)

    def at(self, stamp: str) -> str:
        """A stored UTC timestamp (2026-12-07T07:03:05.123456Z): as stored, without a zone."""
        if self.zone is None or not TIMESTAMP.fullmatch(stamp):
            return stamp
        return self.zone.show(parse_time(stamp), self.language)

    def zone_note(self) -> None:
        """Which times the report prints: said once, before the first."""
        if self.zone is None:
            self("zone_unknown")
        elif self.zone.fixed:
            self("zone_fixed", name=self.zone.name, offset=self.zone.offset)
        else:
            self("zone_note", zone=self.zone.name)


def report_witness(found: dict[str, Any], witness: WitnessKeys, report: Report) -> None:
    if not found["links"] and not found["seal"]:
        report("witness_none")
        return
    report("witness_links_seal" if found["seal"] else "witness_links", **found)
    report("witness_late", late=max(found["lateness"].values()))
    for log in found["logs"]:
        fingerprint = ":".join(log[i : i + 2].upper() for i in range(0, len(log), 2))
        report("witness_key", fingerprint=fingerprint, origin=witness.origin())
    if not witness.independent:
        report("witness_unpinned")


# -- 6. the package's signature: what the exporting installation vouches for -------------------


def parse_listing(body: bytes) -> dict[str, str]:
    """PACKAGE-SHA256SUMS as ``sha256sum`` writes it: file -> SHA-256."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Failure(PACKAGE_SUMS, "utf_8_text") from exc
    listing: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        digest, separator, name = line.partition("  ")
        if not separator or not SHA256_HEX.match(digest) or not name or name in listing:
            raise Failure(PACKAGE_SUMS, "line_number_sha256_file", number=number)
        listing[name] = digest
    return listing


class Exporter:
    """PACKAGE-SHA256SUMS, signed by the installation that exported the package.

    The exporter's certificate must chain to the trust root the device's chains to, so the
    one fingerprint the reader compares anchors both. Nothing the exporter wrote (clip.json,
    NOT-INCLUDED.txt, custody.json, the READMEs, the player) is believed until the
    signature verifies and the file's digest is the one the exporter signed.
    """

    def __init__(self, package: Path) -> None:
        self.package = package
        self.body = self.require(PACKAGE_SUMS, "missing_package_list")
        signature = self.require(PACKAGE_SIG, "missing_package_signature")
        key_data = self.require(EXPORTER_KEY, "missing_exporter_key")
        self.key = load_public_key(key_data, EXPORTER_KEY)
        self.algorithm = algorithm_of(self.key)
        check_signature(self.key, signature, self.body, PACKAGE_SUMS)
        self.listing = parse_listing(self.body)
        self.subject = ""

    def require(self, name: str, code: str) -> bytes:
        path = self.package / name
        if not path.is_file():
            raise Failure(name, code)
        return path.read_bytes()

    def check_pin(self, pin: str | None, report: Report) -> None:
        """With --expect-exporter: the exporter's key is the one whose fingerprint is given."""
        key_sha = sha256_hex(key_der(self.key))
        report("exporter_key", fingerprint=fingerprint(key_der(self.key)))
        if pin is None:
            return
        if key_sha != hex_of(pin):
            raise Failure(
                EXPORTER_KEY,
                "exporter_s_key_one",
            )
        report("pin_matches", option="--expect-exporter")

    def anchor(self, root: TrustRoot, exported_at: str) -> None:
        """The exporter's key is certified under ``root`` (or is the pinned root key)."""
        if root.certificate is None:
            if sha256_hex(key_der(self.key)) != root.key_sha256:
                raise Failure(EXPORTER_KEY, "exporter_s_key_trusted")
            self.subject = f"pinned public key sha256:{root.key_sha256}"
            return
        found = load_certificates(self.require(EXPORTER_CERT, "missing"), EXPORTER_CERT)
        if len(found) != 1:
            raise Failure(EXPORTER_CERT, "expected_exactly_one_certificate")
        certificate = found[0]
        if key_der(certificate.public_key()) != key_der(self.key):
            raise Failure(EXPORTER_CERT, "certificate_does_match_exporter")
        intermediates: list[x509.Certificate] = []
        if (self.package / EXPORTER_CHAIN).is_file():
            intermediates = load_certificates(
                self.require(EXPORTER_CHAIN, "missing"), EXPORTER_CHAIN
            )
        check_path(
            certificate, intermediates, root.certificate, parse_time(exported_at), EXPORTER_CERT
        )
        self.subject = certificate.subject.rfc4514_string()

    def statement(self, name: str) -> bytes | None:
        """A file the exporter wrote, exactly as signed; None when the package has none."""
        path = self.package / name
        listed = self.listing.get(name)
        if not path.is_file():
            if listed is not None:
                raise Failure(name, "file_removed_from_package")
            return None
        if listed is None:
            raise Failure(name, "file_added_package_after")
        data = path.read_bytes()
        if sha256_hex(data) != listed:
            raise Failure(name, "file_changed_since_package")
        return data


# -- 7. the clip -------------------------------------------------------------------------------


class Clip:
    """clip.json: a span of the session, the segments it covers, and the chain values."""

    def __init__(self, data: bytes) -> None:
        self.where = CLIP_PROOF
        try:
            self.doc = json.loads(data.decode("utf-8"))
            self.start_us = int(self.doc["start_us"])
            self.end_us = int(self.doc["end_us"])
            self.segments = list(self.doc["segments"])
            self.link_hashes = [str(h) for h in self.doc["link_hashes"]]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise Failure(self.where, "malformed_clip_proof_exc", exc=exc) from exc
        if self.doc.get("type") != "sealroom.clip-proof" or self.doc.get("v") != 1:
            raise Failure(self.where, "version_1_sealroom_clip")

    def covers(self, segment: dict[str, Any]) -> bool:
        """Whether the span touches the sealed segment: only the span decides what may be
        left out, never the list of segments the proof claims."""
        start: int = segment["start_us"]
        end: int = start + segment["duration_us"]
        return start < self.end_us and end > self.start_us

    def check(self, session: Session, result: dict[str, Any]) -> None:
        """The clip's claims against the verified chain and manifest."""
        links = result["chain_length"]
        computed = [
            sha256_hex((session.dir / f"chain/{seq:06d}.json").read_bytes()) for seq in range(links)
        ]
        if self.doc.get("session") != session.session_id:
            raise Failure(self.where, "clip_session_session", session=self.doc.get("session"))
        for seq, value in enumerate(computed):
            if seq >= len(self.link_hashes) or self.link_hashes[seq] != value:
                raise Failure(self.where, "chain_value_seq_hash", seq=seq)
        if len(self.link_hashes) != len(computed):
            raise Failure(
                self.where,
                "clip_holds_link_hashe",
                values=len(self.link_hashes),
                links=links,
            )
        if self.doc.get("head_hash") != result["head"] or self.doc.get("head_seq") != links - 1:
            raise Failure(self.where, "clip_s_head_signed")
        manifest_bytes = (session.dir / "manifest.json").read_bytes()
        if self.doc.get("manifest_sha256") != sha256_hex(manifest_bytes):
            raise Failure(self.where, "clip_made_from_manifest")
        if not 0 <= self.start_us < self.end_us <= result["manifest"]["duration_us"]:
            raise Failure(self.where, "clip_s_span_outside")
        covered = [s for s in result["segments"] if self.covers(s)]
        fields = ("index", "name", "sha256", "size", "start_us", "duration_us", "track")
        claimed = [{f: s.get(f) for f in fields} for s in self.segments]
        if claimed != [{f: s.get(f) for f in fields} for s in covered]:
            raise Failure(self.where, "clip_s_segments_are")

    def check_left_out(self, listed: bytes | None, segments: list[dict[str, Any]]) -> None:
        """NOT-INCLUDED.txt names exactly the sealed segments outside the span."""
        expected = [segment_path(s) for s in segments if not self.covers(s)]
        if listed is None:
            raise Failure(NOT_INCLUDED, "missing_clip_lists_sealed")
        if listed.decode("utf-8", "replace").split() != expected:
            raise Failure(
                NOT_INCLUDED,
                "does_list_exactly_sealed",
                expected=", ".join(expected) or "-",
            )


# -- 8. the custody excerpt (format section 10) ------------------------------------------------

CUSTODY_FIELDS = ("seq", "at", "actor", "role", "action", "session", "detail")
# Kept at the issuing office, never in a package: where people were, what they used, and
# what they wrote for themselves.
CUSTODY_WITHHELD = ("ip", "user_agent", "note", "reason")


class Custody:
    """custody.json: who did what to this session, when and in which role, as the exporting
    office's log had it, without IP addresses, browsers, private notes or other units' rows.

    It is the exporter's signed statement (checked first, with the package's signature).
    Each entry's ``seq`` is its row in the office's log, which the office checks against its
    signed checkpoints (``sealroom custody verify``); the rows' hashes stay there, because
    they cover the fields withheld for privacy.
    """

    def __init__(self, data: bytes | None, session_id: str) -> None:
        if data is None:
            raise Failure(CUSTODY, "missing_package_s_custody")
        try:
            excerpt = json.loads(data.decode("utf-8"))
            self.entries = list(excerpt["entries"])
            self.taken_at = str(excerpt["taken_at"])
            session = excerpt.get("session")
            version = excerpt.get("v")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise Failure(CUSTODY, "malformed_custody_excerpt_exc", exc=exc) from exc
        if version != 2:
            raise Failure(CUSTODY, "unknown_custody_excerpt_version", version=version)
        if session != session_id:
            raise Failure(
                CUSTODY, "excerpt_session_session_session", session=session, session_id=session_id
            )
        if not is_time(self.taken_at):
            raise Failure(CUSTODY, "taken_utc_timestamp")
        self.session_id = session_id

    def check(self) -> None:
        previous = 0
        for entry in self.entries:
            if not isinstance(entry, dict) or sorted(entry) != sorted(CUSTODY_FIELDS):
                raise Failure(CUSTODY, "malformed_custody_entry_fields", fields=CUSTODY_FIELDS)
            seq = entry["seq"]
            if not is_count(seq, 1):
                raise Failure(CUSTODY, "custody_entry_seq_r", seq=seq)
            if seq <= previous:
                raise Failure(CUSTODY, "custody_entry_seq_out", seq=seq)
            if entry["session"] != self.session_id:
                raise Failure(CUSTODY, "custody_entry_seq_another", seq=seq)
            if not isinstance(entry["at"], str) or not TIMESTAMP.match(entry["at"]):
                raise Failure(CUSTODY, "custody_entry_seq_utc", seq=seq)
            if entry["at"] > self.taken_at:
                raise Failure(CUSTODY, "custody_entry_seq_later", seq=seq)
            for name in ("actor", "role", "action"):
                if not isinstance(entry[name], str) or not entry[name]:
                    raise Failure(CUSTODY, "custody_entry_seq_name", seq=seq, name=name)
            detail = entry["detail"]
            if not isinstance(detail, dict):
                raise Failure(CUSTODY, "custody_entry_seq_detail", seq=seq)
            withheld = sorted(set(detail) & set(CUSTODY_WITHHELD))
            if withheld:
                raise Failure(
                    CUSTODY,
                    "custody_entry_seq_carries",
                    seq=seq,
                    withheld=", ".join(withheld),
                )
            previous = seq


# -- 9. the package's own files ----------------------------------------------------------------


def check_package_files(package: Path, listing: dict[str, str], known: dict[str, str]) -> int:
    """The files here are exactly those the exporter signed. ``known`` holds digests computed
    already (the segments), so the media is read once."""
    # Every file counts, whatever its name or directory (even __pycache__): anything the
    # exporter did not sign was put there by someone else. Only files and directories.
    only_files_and_directories(package, shown)
    present = sorted(
        p.relative_to(package).as_posix()
        for p in package.rglob("*")
        if p.is_file() and p.relative_to(package).as_posix() not in (PACKAGE_SUMS, PACKAGE_SIG)
    )
    for name in present:
        if name not in listing:
            raise Failure(shown(name), "file_added_package_after")
        digest = known.get(name) or sha256_file(package / name)[1]
        if digest != listing[name]:
            raise Failure(shown(name), "file_changed_since_package")
    for name in listing:
        if name not in present:
            raise Failure(shown(name), "file_removed_from_package")
    return len(present)


# -- 10. time-stamp tokens (format section "Time-stamp tokens") -------------------------------

TSA_ROOT = "tsa-ca.pem"
SHA256_OID = "2.16.840.1.101.3.4.2.1"


class TimeStampsNotChecked(UsageProblem):
    """The session has time-stamp tokens that this machine cannot check (exit status 2)."""


def token_names(links: int) -> set[str]:
    """Where tokens may sit: beside each link and beside the manifest."""
    return {f"chain/{seq:06d}.tsr" for seq in range(links)} | {"manifest.tsr"}


class TimeStamps:
    """RFC 3161 tokens beside the files they stamp. Checking one needs ``rfc3161-client``;
    without it (or without the authority's root) the tokens are reported as not checked."""

    def __init__(
        self, package: Path, root_file: Path | None, *, skip: bool, pin: str | None = None
    ) -> None:
        self.skip = skip
        self.given = root_file is not None
        self.pin = pin
        self.root_label = str(root_file or TSA_ROOT)
        self.root_file = root_file or package / TSA_ROOT
        self.times: dict[str, datetime] = {}  # token -> the authority's time
        self.unchecked: list[str] = []
        self.why_not = Term("needs_rfc3161")
        self.rfc3161: Any = None
        self.roots: list[x509.Certificate] = []
        try:
            import rfc3161_client
        except ImportError:
            return
        if not self.root_file.is_file():
            self.why_not = Term("tsa_root_missing", label=self.root_label)
            return
        self.rfc3161 = rfc3161_client
        self.roots = load_certificates(self.root_file.read_bytes(), self.root_label)
        self.check_pin()

    def check_pin(self) -> None:
        """With --expect-tsa: every root (self-signed) in the file is the pinned one."""
        if self.pin is None:
            return
        for certificate in self.roots:
            der = certificate.public_bytes(serialization.Encoding.DER)
            if certificate.subject == certificate.issuer and sha256_hex(der) != hex_of(self.pin):
                raise Failure(
                    self.root_label,
                    "time_stamp_authority_s",
                )

    @property
    def can_check(self) -> bool:
        return self.rfc3161 is not None

    def tsa_time(self, session: Session, relative: str, data: bytes) -> datetime:
        """Check the token beside ``relative`` against ``data``; the authority's time."""
        token = relative[: -len(".json")] + ".tsr"
        where = session.where(token)
        if token in self.times:
            return self.times[token]
        rfc = self.rfc3161
        try:
            response = rfc.decode_timestamp_response((session.dir / token).read_bytes())
        except ValueError as exc:
            raise Failure(where, "time_stamp_token_exc", exc=exc) from exc
        imprint = response.tst_info.message_imprint
        if imprint.hash_algorithm.dotted_string != SHA256_OID:
            raise Failure(where, "token_does_stamp_sha")
        if imprint.message != hashlib.sha256(data).digest():
            raise Failure(where, "token_stamps_other_data")
        builder = rfc.VerifierBuilder()
        for certificate in self.roots:
            if certificate.subject == certificate.issuer:
                builder = builder.add_root_certificate(certificate)
            else:
                builder = builder.add_intermediate_certificate(certificate)
        try:
            builder.build().verify_message(response, data)
        except (rfc.VerificationError, ValueError) as exc:
            raise Failure(where, "token_does_verify_against", exc=exc) from exc
        when = response.tst_info.gen_time
        self.times[token] = when if when.tzinfo else when.replace(tzinfo=timezone.utc)  # noqa: UP017
        return self.times[token]

    def start_time(self, session: Session, link0: bytes, device_time: str) -> str | None:
        """The authority's time for link 0, as the time to check the certificate at."""
        if not self.can_check or "chain/000000.tsr" not in session.files:
            return None
        when = self.tsa_time(session, "chain/000000.json", link0)
        return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def check(self, session: Session, result: dict[str, Any], report: Report) -> None:
        """Every token, in the order the files were written; report each one's times."""
        stamped = []
        for seq in range(result["chain_length"]):
            name = f"chain/{seq:06d}.json"
            stamped.append((name, load_canonical(session.read(name), name)["time"]))
        stamped.append(("manifest.json", result["manifest"]["ended_at"]))
        present = [(n, t) for n, t in stamped if n[: -len(".json")] + ".tsr" in session.files]
        if not present:
            return
        if not self.can_check:
            self.unchecked = [n[: -len(".json")] + ".tsr" for n, _ in present]
            report("stamps_unchecked", count=len(present), why=self.why_not)
            return
        root = self.roots[0]
        report("stamps", count=len(present))
        report("stamps_root", label=self.root_label, subject=root.subject.rfc4514_string())
        report("stamps_seconds")
        der = root.public_bytes(serialization.Encoding.DER)
        report("fingerprint", fingerprint=fingerprint(der))
        if self.pin is not None:
            report("pin_matches", option="--expect-tsa")
        elif not self.given:
            report("tsa_unpinned")
        previous: tuple[str, datetime] | None = None
        for name, device_time in present:
            when = self.tsa_time(session, name, session.read(name))
            if previous is not None and when < previous[1]:
                raise Failure(
                    session.where(name[: -len(".json")] + ".tsr"),
                    "stamped_when_before_previous",
                    when=when.isoformat(),
                    previous=previous[0],
                )
            previous = (name, when)
            late = (when - parse_time(device_time)).total_seconds()
            report("stamped", name=name, when=report.moment(when), late=late)
        if "chain/000000.tsr" in session.files:
            report("stamps_link0")

    def conclude(self, report: Report) -> None:
        """Tokens that could not be checked are not a pass: say so, unless asked to skip."""
        if not self.unchecked:
            return
        if self.skip:
            report("stamps_skipped", count=len(self.unchecked))
            return
        raise TimeStampsNotChecked(
            "tokens_not_checked", count=len(self.unchecked), why=self.why_not
        )


# -- the report --------------------------------------------------------------------------------


def session_directories(package: Path) -> list[Path]:
    """The directories under sessions/. None at all: this is not a package (usage error)."""
    sessions = package / "sessions"
    found = sorted(p for p in sessions.iterdir() if p.is_dir()) if sessions.is_dir() else []
    if not found:
        raise UsageProblem("not_a_package", package=package)
    return found


def signed_session(package: Path, found: list[Path], listing: dict[str, str]) -> Path:
    """The one session whose files the exporter signed. Any other directory under sessions/
    (another session, or this one renamed) was put there after the export: not intact."""
    signed = {name.split("/")[1] for name in listing if re.match(r"sessions/[^/]+/.", name)}
    if len(signed) != 1 or not SESSION_ID.fullmatch(next(iter(signed))):
        raise Failure(PACKAGE_SUMS, "does_list_files_exactly")
    session_id = signed.pop()
    for directory in found:
        if directory.name != session_id:
            raise Failure(
                f"sessions/{directory.name}/",
                "directory_exported_session_session",
                session_id=session_id,
            )
    return package / "sessions" / session_id


def verify(
    package: Path,
    root_file: Path | None,
    expect_root: str | None,
    report: Callable[[str], None] = say,
    *,
    tsa_root: Path | None = None,
    skip_time_stamps: bool = False,
    witness_keys: list[Path] | None = None,
    expect_witness: list[str] | None = None,
    expect_tsa: str | None = None,
    expect_exporter: str | None = None,
    language: str = "en",
) -> dict[str, Any]:
    """Verify ``package``; raise Failure at the first thing that does not verify. Returns
    what the session's check found (signer, manifest, chain, segments). ``report`` receives
    the report's lines in ``language`` ("vi" or "en")."""
    out = Report(report, language)
    found = session_directories(package)
    # Before any file is read: a link could point out of the package, at a file that passes.
    only_files_and_directories(package, shown)
    root = TrustRoot(root_file or package / TRUST_ROOT, str(root_file or TRUST_ROOT))
    out("package", path=package)
    out("trust_root", label=root.label, subject=root.subject)
    out("fingerprint", fingerprint=root.fingerprint)
    if expect_root:
        wanted = re.sub(r"[^0-9A-F]", "", expect_root.upper())
        if wanted != root.fingerprint.replace(":", ""):
            raise Failure(root.label, "trust_root_one_whose")
        out("pin_matches", option="--expect-root")
    elif root_file:
        out("root_given")
    else:
        out("root_compare")
    # The exporter's signature first: clip.json, NOT-INCLUDED.txt and custody.json decide
    # what may be missing and what is reported, so they are read only as signed.
    exporter = Exporter(package)
    session_dir = signed_session(package, found, exporter.listing)
    custody = Custody(exporter.statement(CUSTODY), session_dir.name)
    exporter.anchor(root, custody.taken_at)
    installation = exporter.statement(INSTALLATION)
    out.zone = Zone(installation) if installation is not None else None
    out.zone_note()
    out("exporter", subject=exporter.subject, algorithm=exporter.algorithm)
    out("exporter_signed", sig=PACKAGE_SIG, at=out.at(custody.taken_at))
    exporter.check_pin(expect_exporter, out)
    clip_data = exporter.statement(CLIP_PROOF)
    clip = Clip(clip_data) if clip_data is not None else None
    not_included = exporter.statement(NOT_INCLUDED)
    stamps = TimeStamps(package, tsa_root, skip=skip_time_stamps, pin=expect_tsa)
    witness = WitnessKeys(package, witness_keys or [], expect_witness)
    session = Session(package, session_dir, root, clip, stamps, witness)
    result = session.run()
    manifest = result["manifest"]
    out("signer", signer=result["signer"], algorithm=result["algorithm"])
    certificate = result["certificate"]
    if certificate is not None:
        out(
            "signer_valid",
            start=f"{not_before(certificate):%Y-%m-%d %H:%M:%S}",
            end=f"{not_after(certificate):%Y-%m-%d %H:%M:%S}",
        )
    out("session", session=session.session_id)
    out("case_number", case=manifest["metadata"].get("case_number"))
    out("started", at=out.at(manifest["started_at"]))
    recovered = manifest.get("recovered_at")
    ended = out.at(manifest["ended_at"])
    if recovered:
        out("ended_recovered", at=ended, recovered=out.at(recovered))
    else:
        out("ended_interrupted" if manifest["interrupted"] else "ended", at=ended)
    out("duration", clock=clock(manifest["duration_us"]))
    out("chain", length=result["chain_length"])
    out("head", head=result["head"])
    report_witness(result["witness"], witness, out)
    out("manifest_ok")
    out("sums_ok")
    segments = result["segments"]
    included = [s for s in segments if s not in session.absent]
    out("segments", included=len(included), sealed=len(segments))
    for segment in segments:
        out(
            "segment_line",
            path=segment_path(segment),
            start=clock(segment["start_us"]),
            sha256=segment["sha256"],
            state=Term("segment_absent" if segment in session.absent else "segment_ok"),
        )
    if clip is not None:
        clip.check(session, result)
        clip.check_left_out(not_included, segments)
        out(
            "clip",
            start=clock(clip.start_us),
            end=clock(clip.end_us),
            count=len(clip.segments),
        )
    elif not_included is not None:
        raise Failure(NOT_INCLUDED, "whole_session_package_leaves")
    custody.check()
    out("custody", count=len(custody.entries))
    known = {
        session.where(relative): digest
        for relative, digest in session.digests.items()
        if relative in session.files
    }
    files = check_package_files(package, exporter.listing, known)
    out("package_files", count=files, sums=PACKAGE_SUMS)
    stamps.check(session, result, out)
    report("")
    out("proves")
    out("proves_device", signer=result["signer"])
    out("proves_exporter_clip" if clip else "proves_exporter_session", subject=exporter.subject)
    found = result["witness"]
    if found["links"] or found["seal"]:
        if witness.independent:
            out("proves_witness", origin=witness.origin())
        else:
            out("proves_witness_nothing")
    result["witness_independent"] = witness.independent
    result["tsa_unpinned"] = bool(stamps.times) and not stamps.given and stamps.pin is None
    stamps.conclude(out)
    return result


def readable_output() -> None:
    """Vietnamese on a console that cannot show it (an old Windows code page): escaped
    characters rather than a crash before the verdict."""
    for stream in (sys.stdout, sys.stderr):
        try:
            "ệ".encode(stream.encoding or "ascii")
        except (LookupError, UnicodeEncodeError):
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(errors="backslashreplace")


# argparse's own words (headings of --help, its errors) in Vietnamese: argparse looks each
# up through its module's gettext when it prints, so verify.py puts this table there under
# --lang vi. The texts of Python 3.9 to 3.13; one not listed stays in English.
ARGPARSE_VI = {
    "usage: ": "cách dùng: ",
    "options": "tuỳ chọn",
    "optional arguments": "tuỳ chọn",
    "positional arguments": "đối số theo vị trí",
    "show this help message and exit": "in hướng dẫn này rồi thoát",
    "%(prog)s: error: %(message)s\n": "%(prog)s: lỗi: %(message)s\n",
    "the following arguments are required: %s": "thiếu các đối số bắt buộc: %s",
    "unrecognized arguments: %s": "đối số không nhận ra: %s",
    "expected one argument": "cần đúng một giá trị",
    "expected at most one argument": "cần nhiều nhất một giá trị",
    "expected at least one argument": "cần ít nhất một giá trị",
    "ignored explicit argument %r": "bỏ qua giá trị %r",
    "argument %(argument_name)s: %(message)s": "đối số %(argument_name)s: %(message)s",
    "invalid choice: %(value)r (choose from %(choices)s)": (
        "lựa chọn không hợp lệ: %(value)r (chọn một trong %(choices)s)"
    ),
    "invalid %(type)s value: %(value)r": "giá trị %(type)s không hợp lệ: %(value)r",
    "ambiguous option: %(option)s could match %(matches)s": (
        "tuỳ chọn mơ hồ: %(option)s có thể là %(matches)s"
    ),
    "not allowed with argument %s": "không dùng được cùng đối số %s",
    "one of the arguments %s is required": "cần một trong các đối số %s",
}


ARGPARSE_ENGLISH = (argparse._, argparse.ngettext)  # type: ignore[attr-defined]


def speak_argparse(language: str) -> None:
    """argparse's headings and errors in ``language`` (its English for "en")."""
    if language != "vi":
        argparse._, argparse.ngettext = ARGPARSE_ENGLISH  # type: ignore[attr-defined]
        return

    def vietnamese(message: str) -> str:
        return ARGPARSE_VI.get(message, message)

    def vietnamese_n(singular: str, plural: str, n: int) -> str:
        if singular == "expected %s argument":
            return "cần %s giá trị"
        return singular if n == 1 else plural

    argparse._ = vietnamese  # type: ignore[attr-defined]
    argparse.ngettext = vietnamese_n  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    readable_output()
    # The language first, so that the help and every error are in it too (a bad --lang is
    # refused in the default language).
    speak_argparse(default_language())
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--lang", choices=LANGUAGES, default=default_language())
    language = early.parse_known_args(argv)[0].lang
    speak_argparse(language)

    def t(code: str, **params: Any) -> str:
        return text(code, language, **params)

    parser = argparse.ArgumentParser(description=t("help"))
    parser.add_argument(
        "package",
        nargs="?",
        type=Path,
        default=Path(__file__).resolve().parent,
        metavar=t("metavar_package"),
        help=t("help_package"),
    )
    parser.add_argument("--lang", choices=LANGUAGES, default=language, help=t("help_lang"))
    parser.add_argument("--root", type=Path, metavar="PEM", help=t("help_root"))
    parser.add_argument("--expect-root", metavar="SHA256", help=t("help_expect_root"))
    parser.add_argument("--tsa-root", type=Path, metavar="PEM", help=t("help_tsa_root"))
    parser.add_argument(
        "--witness-key",
        action="append",
        default=[],
        type=Path,
        metavar="PEM",
        help=t("help_witness_key"),
    )
    parser.add_argument(
        "--expect-witness",
        action="append",
        default=[],
        metavar="SHA256",
        help=t("help_expect_witness"),
    )
    parser.add_argument("--expect-tsa", metavar="SHA256", help=t("help_expect_tsa"))
    parser.add_argument("--expect-exporter", metavar="SHA256", help=t("help_expect_exporter"))
    parser.add_argument("--skip-time-stamps", action="store_true", help=t("help_skip"))
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:
        return 2 if done.code else 0
    try:
        result = verify(
            args.package.resolve(),
            args.root,
            args.expect_root,
            tsa_root=args.tsa_root,
            skip_time_stamps=args.skip_time_stamps,
            witness_keys=args.witness_key,
            expect_witness=args.expect_witness,
            expect_tsa=args.expect_tsa,
            expect_exporter=args.expect_exporter,
            language=language,
        )
    except TimeStampsNotChecked as unchecked:
        say()
        say(t("result_not_checked"))
        say(t("failed_reason", reason=unchecked.text_in(language)))
        return 2
    except UsageProblem as problem:
        print(f"verify.py: {problem.text_in(language)}", file=sys.stderr)
        return 2
    except Failure as failure:
        say()
        say(t("result_not_intact"))
        say(t("failed_file", where=failure.where))
        say(t("failed_reason", reason=failure.reason_in(language)))
        return 1
    say()
    say(t("result_intact"))
    if args.root is None and not args.expect_root:
        # Checked against the root the package itself carries: say so where the verdict is.
        say(t("root_unpinned"))
    if not result["witness_independent"] and (
        result["witness"]["links"] or result["witness"]["seal"]
    ):
        say(t("result_witness_unpinned"))
    if result["tsa_unpinned"]:
        say(t("result_tsa_unpinned"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
