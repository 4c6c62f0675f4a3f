"""The format core's failure reasons, worded in the console's language.

Each failure of ``evidence_store`` carries a stable code and its values beside its English
text (``evidence_store.Reason``); the custody log keeps all three. Here each code has its
English template, which Flask-Babel translates (web/translations), so "verify now", a refused
segment, the session's last verdict and the alarms read in Vietnamese. A reason recorded
before codes existed, or a code this table does not know, is shown as it was recorded.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

# code -> the English template, %(name)s for each value (the same words as the core's)
REASONS: dict[str, LazyString] = {
    "json_object": _l("not a JSON object"),
    "canonical_form_bytes_edited": _l("not in canonical form (bytes were edited)"),
    "valid_json_exc": _l("not valid JSON (%(exc)s)"),
    "link_belongs_session_session": _l("link belongs to session %(session)s, not %(session_id)s"),
    "link_says_seq_seq": _l("link says seq %(seq)s but is link %(length)s of the chain"),
    "prev_does_match_hash": _l(
        "prev does not match the hash of the link before it: the chain is broken (a link was "
        "removed, inserted, reordered or edited)"
    ),
    "link_after_session_ended": _l("link after the session ended (%(state)s)"),
    "link_time_time_before": _l(
        "link time %(time)s is before the previous link's %(last_time)s: link times never go "
        "backwards"
    ),
    "segment_while_session_state": _l("segment while the session is %(state)s"),
    "segment_names_track_session": _l(
        "segment names a track, but the session records one composite picture"
    ),
    "segment_index_index_where": _l("segment index %(index)s where %(segment_count)s was expected"),
    "segment_start_does_continue": _l("segment start does not continue the timeline"),
    "segment_unknown_track_track": _l(
        "segment of unknown track %(track)s (the session's tracks are %(value)s)"
    ),
    "segment_index_index_track": _l(
        "segment index %(index)s of track %(track)s where %(earlier_count)s was expected"
    ),
    "segment_starts_before_end": _l(
        "segment starts before the end of track %(track)s's previous segment"
    ),
    "kind_after_session_ended": _l("%(kind)s after the session ended"),
    "chain_must_open_exactly": _l("the chain must open with exactly one session_started"),
    "device_stats_name_device": _l("device stats name a device twice"),
    "kind_while_session_state": _l("%(kind)s while the session is %(state)s"),
    "interrupted_ended_outside_session": _l(
        "interrupted at %(ended_at)s, outside the session's start %(started_at)s and its "
        "recovery %(time)s"
    ),
    "device_stats_device_name": _l("device stats of %(device)s name unknown track %(track)s"),
    "device_stats_count_counted": _l(
        "device stats count %(counted)s clock corrections of %(device)s, the chain records "
        "%(chained)s"
    ),
    "device_device_lost_twice": _l("device %(device)s lost twice"),
    "device_device_restored_never": _l("device %(device)s restored but never lost"),
    "missing": _l("missing"),
    "manifest_one_clip_made": _l("the manifest is not the one the clip was made from"),
    "manifest_seals_session_session": _l("the manifest seals session %(session)s"),
    "proof_holds_link_hashe": _l(
        "the proof holds %(link_hashe_count)s chain values, the manifest seals %(length)s links"
    ),
    "proof_s_head_signed": _l("the proof's head is not the signed head"),
    "clip_s_span_outside": _l("the clip's span is outside the recording"),
    "proof_s_segments_are": _l("the proof's segments are not the sealed segments its span covers"),
    "head_link_s_signature": _l("the head link's signature is not the one the manifest seals"),
    "link_does_seal_segment": _l("link does not seal segment %(name)s as the clip says"),
    "segment_size_bytes_chain": _l(
        "segment is %(seen)s bytes, the chain sealed %(size)s (%(extended)s)"
    ),
    "segment_content_does_match": _l(
        "segment content does not match its sealed SHA-256 (altered or replaced)"
    ),
    "segment_missing_deleted_renamed": _l("segment missing (deleted or renamed)"),
    "malformed_clip_proof_exc": _l("malformed clip proof (%(exc)s)"),
    "link_s_hash_chain": _l("link's hash is not the chain value the clip was made with (altered)"),
    "link_does_follow_one": _l("the link does not follow the one before it"),
    "link_belongs_session_session_2": _l("link belongs to session %(session)s"),
    "rows_last_seq_last": _l(
        "rows %(last_seq)s to %(last_row)s are anchored by no signed checkpoint (every "
        "append writes one): the newest checkpoint was deleted, or the process died before "
        "writing it"
    ),
    "repair_does_continue_from": _l(
        "the repair does not continue from the checkpoint of the last lost row"
    ),
    "checkpoint_records_row_seq": _l(
        "a checkpoint records row %(seq)s but the log ends at row %(last_row)s: history was "
        "deleted or the log rolled back"
    ),
    "row_seq_differs_from": _l("row %(seq)s differs from its checkpoint: history was rewritten"),
    "custody_database_cannot_read": _l(
        "the custody database cannot be read (%(exc)s); `sealroom custody repair` rebuilds "
        "what can be rebuilt"
    ),
    "rows_span_span2_are": _l(
        "rows %(span)s–%(span2)s are said to be lost, but no checkpoint of row %(span22)s "
        "vouches for where the log went on"
    ),
    "checkpoint_authentic_exc": _l("checkpoint is not authentic: %(exc)s"),
    "prev_hash_does_match": _l("prev_hash does not match the row before it"),
    "row_format_v_after": _l("row format %(v)s after format %(row_format)s (rewritten)"),
    "row_content_does_match": _l("row content does not match its hash (rewritten)"),
    "row_expected_seq_missing": _l("row %(expected_seq)s is missing (deleted)"),
    "trust_root_anchors_signer": _l("no trust root anchors the signer"),
    "installation_cannot_sign_package": _l(
        "this installation cannot sign the package: its signing key must be anchored in the "
        "root that anchors the session (%(reason)s)"
    ),
    "session_manifest_sealed_yet": _l("the session has no manifest (not sealed yet)"),
    "malformed_noun_difference": _l("malformed %(noun)s: %(difference)s"),
    "malformed_noun_exc": _l("malformed %(noun)s: %(exc)s"),
    "signed_witness_key_sha256": _l(
        "signed by witness key sha256:%(log)s, which is not a trusted witness key (give it "
        "with --witness-key, [evidence] witness_key or <data_dir>/trust/witness/)"
    ),
    "object_part_session_witness": _l(
        "object is not part of the session (the witness folder holds only receipts)"
    ),
    "witness_answered_key_sha256": _l(
        "the witness answered with key sha256:%(log)s, which is not a trusted witness key"
    ),
    "witness_answered_session_session": _l("the witness answered for session %(session)s"),
    "session_s_receipts_say": _l(
        "the session's receipts say this witness received its heads, but the witness has "
        "never heard of this session: the receipts are not the witness's"
    ),
    "witness_refused_fork_count": _l(
        "the witness refused %(fork_count)s head(s) of this session as a fork; first: "
        "%(what)s received at %(received_at)s (%(reason)s)"
    ),
    "witness_holds_links_links": _l(
        "the witness holds %(links)s links of this session, the session has %(have)s: links "
        "were removed after they were witnessed"
    ),
    "link_links_one_witness": _l(
        "link %(links)s is not the one the witness holds: the chain was rewritten after it "
        "was witnessed"
    ),
    "witness_s_answer_does": _l(
        "the witness's answer does not carry this verification's nonce: it is not fresh (a "
        "saved answer replayed, or not the witness)"
    ),
    "witness_s_answer_carries": _l("the witness's answer carries no signed tree head"),
    "answer_s_tree_head": _l("the answer's tree head is another witness's"),
    "witness_answered_from_log": _l(
        "the witness answered from a log of %(tree_size)s entries; the session's receipts "
        "were given by a log of %(tree_size2)s: the answer is older than the receipts "
        "(replayed)"
    ),
    "entry_witness_s_signed": _l("the entry is not in the witness's signed tree: %(exc)s"),
    "receipt_session_session": _l("a receipt for session %(session)s"),
    "fork_witness_refused_receipt": _l("a fork the witness refused is not a receipt"),
    "receipt_another_head_than": _l("the receipt is for another head than its name says"),
    "head_name_one_witness": _l(
        "%(head_name)s is not the one the witness received at %(received_at)s: it was "
        "replaced after it was witnessed"
    ),
    "witness_holds_seal_session": _l(
        "the witness holds a seal of this session (%(segments)s segments, received at "
        "%(received_at)s); the session has none: it was unsealed"
    ),
    "session_sealed_witness_saw": _l(
        "the session is not sealed as the witness saw it: the witness holds a seal of "
        "%(chain_length)s links and %(segments)s segments (received at %(received_at)s), the "
        "session has %(have)s links and %(segments2)s segments"
    ),
    "witness_counted_segments_segments": _l(
        "the witness counted %(segments)s segments, the session has %(segments2)s"
    ),
    "witness_s_tree_head": _l(
        "the witness's tree head and a receipt's have the same size and different roots: the "
        "log was rewritten"
    ),
    "witness_s_log_tree": _l(
        "the witness's log of %(tree_size)s entries does not extend the one of "
        "%(tree_size2)s the session's receipts name: %(exc)s"
    ),
    "signature_missing": _l("signature missing"),
    "malformed_link_exc": _l("malformed link: %(exc)s"),
    "differs_from_what_chain": _l("differs from what the chain implies"),
    "segment_does_match_link": _l("segment does not match its link"),
    "public_key_one_session": _l("public key is not the one the session started with"),
    "expected_exactly_one_certificate": _l("expected exactly one certificate"),
    "certificate_one_session_started": _l("certificate is not the one the session started with"),
    "session_started_certificate_now": _l(
        "the session started with a certificate that is now missing"
    ),
    "unsupported_signing_key_type": _l(
        "unsupported signing key type (expected Ed25519 or ECDSA P-256)"
    ),
    "certificate_chain_too_long": _l("certificate chain is too long"),
    "certificate_current_r_valid": _l("certificate %(cert)s was not valid at %(at)s"),
    "signature_does_verify_signed": _l("signature does not verify: the signed bytes were altered"),
    "pem_public_key": _l("not a PEM public key"),
    "unreadable_certificate_exc": _l("unreadable certificate (%(exc)s)"),
    "signing_key_certificate_among": _l(
        "the signing key has no certificate and is not among the trusted keys"
    ),
    "certificate_does_match_signing": _l("certificate does not match the signing key"),
    "certificate_does_allow_digital": _l("certificate does not allow digital signatures"),
    "certificate_current_does_chain": _l(
        "certificate %(current)s does not chain to a trusted root"
    ),
    "issuer_issuer_r_ca": _l("issuer %(issuer)s is not a CA"),
    "token_does_stamp_sha": _l("the token does not stamp a SHA-256"),
    "token_stamps_other_data": _l("the token stamps other data, not the file beside it"),
    "time_stamp_token_exc": _l("not a time-stamp token (%(exc)s)"),
    "token_does_verify_against": _l(
        "the token does not verify against the time-stamp authority's root (%(exc)s)"
    ),
    "stamped_when_before_name": _l(
        "stamped at %(when)s, before %(name)s was stamped (%(tsa_time)s): a token was moved "
        "or replaced"
    ),
    "missing_session_s_first": _l(
        "missing: the session's first link is gone, while %(key_count)s other object(s) of "
        "the session remain"
    ),
    "what_regular_file_session": _l(
        "%(what)s, not a regular file: a session holds only files and directories, and a "
        "link is never followed"
    ),
    "object_part_sealed_chain": _l(
        "object is not part of the sealed chain (added, duplicated or spliced in, or left "
        "over after a link before it was removed)"
    ),
    "sealed_chain_intact_up": _l(
        "not sealed: the chain is intact up to link %(length)s but the session is %(state)s "
        "or was cut off; run `sealroom recover` if it is not recording"
    ),
    "missing_seal_cut_off": _l(
        "missing: the seal was cut off before the manifest was signed (or the signature "
        "removed); run `sealroom recover`"
    ),
    "version_1_sealroom_manifest": _l("not a version 1 sealroom manifest"),
    "manifest_seals_length_links": _l(
        "the manifest seals %(length)s links but the chain has only %(length2)s and does not "
        "end: links were removed (head rolled back)"
    ),
    "manifest_seals_length_links_2": _l(
        "the manifest seals %(length)s links with head %(head)s…, the chain has %(length2)s "
        "with head %(head2)s…: links were removed or replaced (head rolled back)"
    ),
    "manifest_field_field_r": _l("manifest field %(field)s does not match the chain"),
    "does_list_exactly_session": _l("does not list exactly the session's files and their digests"),
    "missing_session_holds_signer": _l(
        "missing: the session holds only its signer's files (cut off before its first link "
        "was written)"
    ),
    "reason_time_stamp_authority": _l(
        "%(reason)s (the time-stamp authority's time for the session's start, %(link_name)s; "
        "the device claims %(started)s)"
    ),
    "name_line_break_another": _l(
        "a name with a line break or another control character is never part of a session"
    ),
    "segment_stored_never_chained": _l(
        "a segment was stored but never chained (cut off while sealing); run `sealroom recover`"
    ),
    "session_ended_manifest_never": _l(
        "the session ended but its manifest was never written; run `sealroom recover`"
    ),
    "last_link_never_signed": _l(
        "the last link was never signed (cut off while sealing); run `sealroom recover`"
    ),
    "segment_size_differs": _l("segment is %(found)s bytes, the chain sealed %(sealed)s"),
}

# Values that are English words the core puts into a reason.
WORDS: dict[str, LazyString] = {
    "truncated": _l("truncated"),
    "extended": _l("extended"),
    "still recording": _l("still recording"),
    "empty": _l("empty"),
    "a symbolic link": _l("a symbolic link"),
    "a named pipe (FIFO)": _l("a named pipe (FIFO)"),
    "a socket": _l("a socket"),
    "a device": _l("a device"),
}
