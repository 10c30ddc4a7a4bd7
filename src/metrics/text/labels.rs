//! Label values as written: capped at [`MAX_LABEL_BYTES`] on a character
//! boundary, and escaped for the text formats.

use std::borrow::Cow;

/// The longest label value written, in bytes of UTF-8 before escaping. A
/// longer value is cut on a character boundary and ends in [`CUT_MARKER`],
/// which counts within the limit.
pub const MAX_LABEL_BYTES: usize = 256;

/// Ends a label value that was cut, so a reader sees it is not whole.
pub const CUT_MARKER: &str = "…";

/// `value` as written in a label: itself when it fits in
/// [`MAX_LABEL_BYTES`], else its longest prefix on a character boundary
/// that leaves room for [`CUT_MARKER`], followed by the marker. Series stay
/// unique: every family that carries a name also carries its id.
pub fn cap_label(value: &str) -> Cow<'_, str> {
    if value.len() <= MAX_LABEL_BYTES {
        return Cow::Borrowed(value);
    }
    let mut end = MAX_LABEL_BYTES - CUT_MARKER.len();
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = String::with_capacity(end + CUT_MARKER.len());
    cut.push_str(&value[..end]);
    cut.push_str(CUT_MARKER);
    Cow::Owned(cut)
}

/// Label values are capped at [`MAX_LABEL_BYTES`], then escape
/// backslash, double quote and line feed.
pub(super) fn escape_into(out: &mut String, value: &str) {
    let value = &*cap_label(value);
    if !value.contains(['\\', '"', '\n']) {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}
